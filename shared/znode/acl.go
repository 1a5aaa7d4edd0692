package znode

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"slices"
	"strings"
)

// Permission bits (ZooDefs.Perms).
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// ID is an ACL identity: a scheme and an id in it.
type ID struct {
	Scheme, ID string
}

// ACL is one entry of a node's access control list.
type ACL struct {
	Perms int32
	ID    ID
}

// Well-known ACLs.
var (
	Anyone        = ID{"world", "anyone"}
	OpenACLUnsafe = []ACL{{PermAll, Anyone}}
	ReadACLUnsafe = []ACL{{PermRead, Anyone}}
)

// DigestID returns the digest-scheme id of user:password:
// user:base64(SHA1("user:password")), as ZooKeeper's
// DigestAuthenticationProvider makes it.
func DigestID(userPassword string) string {
	user, _, _ := strings.Cut(userPassword, ":")
	sum := sha1.Sum([]byte(userPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Auth is what a connection has proven: its identities in the order they
// were added, the first being ip:<client address>. It is a value; the
// connection that owns it replaces it on addAuth.
type Auth struct {
	IDs []ID
}

// AddAuth returns a with the identity that scheme and credentials prove,
// or ErrAuthFailed for a scheme it does not know. Digest credentials
// "user:password" always succeed; if their digest is superDigest the
// connection also becomes super (ZooKeeper adds super:"" first).
func (a Auth) AddAuth(scheme string, credentials []byte, superDigest string) (Auth, error) {
	out := Auth{IDs: append([]ID(nil), a.IDs...)}
	switch scheme {
	case "digest":
	case "ip":
		// ZooKeeper's ip provider ignores the credentials and adds the
		// connection's own address, which every connection already has.
		return out, nil
	default:
		return a, ErrAuthFailed
	}
	id := DigestID(string(credentials))
	if superDigest != "" && id == superDigest {
		out.IDs = appendID(out.IDs, ID{"super", ""})
	}
	out.IDs = appendID(out.IDs, ID{"digest", id})
	return out, nil
}

func appendID(ids []ID, id ID) []ID {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

// WhoAmI returns (scheme, user) per identity, as ZooKeeper's whoAmI: ip
// gives the address, digest the user part, super "".
func (a Auth) WhoAmI() []ID {
	out := make([]ID, 0, len(a.IDs))
	for _, id := range a.IDs {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(id.ID, ":")
		}
		out = append(out, ID{id.Scheme, user})
	}
	return out
}

// allowed reports whether a may do perm on a node with acl (ZooKeeper's
// checkACL): an empty ACL allows everything, so does a super identity;
// otherwise an entry must grant perm and match one of a's identities.
func (a Auth) allowed(acl []ACL, perm int32) bool {
	if len(acl) == 0 {
		return true
	}
	for _, id := range a.IDs {
		if id.Scheme == "super" {
			return true
		}
	}
	for _, e := range acl {
		if e.Perms&perm == 0 {
			continue
		}
		if e.ID == Anyone {
			return true
		}
		for _, id := range a.IDs {
			if id.Scheme == e.ID.Scheme && matches(e.ID, id) {
				return true
			}
		}
	}
	return false
}

func matches(entry, id ID) bool {
	switch entry.Scheme {
	case "digest":
		return entry.ID == id.ID
	case "ip":
		addr, err := netip.ParseAddr(id.ID)
		if err != nil {
			return false
		}
		p, ok := parseIPEntry(entry.ID)
		return ok && p.Contains(addr.Unmap())
	}
	return false
}

// parseIPEntry parses an ip-scheme id: an address with an optional /bits.
func parseIPEntry(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// fixACL returns the ACL a create or setACL stores (ZooKeeper's fixupACL):
// duplicates removed; world only as world:anyone; "auth" replaced by one
// entry per authenticated identity of the connection (digest; not ip or
// super); digest ids must be user:hash; ip ids must parse. Anything else is
// ErrInvalidACL.
func (a Auth) fixACL(acl []ACL) ([]ACL, error) {
	if len(acl) == 0 {
		return nil, ErrInvalidACL
	}
	// Exact duplicates of the request are dropped first; what "auth"
	// expands to is added as is, even if it repeats an explicit entry.
	var uniq []ACL
	for _, e := range acl {
		if !slices.Contains(uniq, e) {
			uniq = append(uniq, e)
		}
	}
	var out []ACL
	add := func(e ACL) { out = append(out, e) }
	for _, e := range uniq {
		switch e.ID.Scheme {
		case "world":
			if e.ID.ID != "anyone" {
				return nil, ErrInvalidACL
			}
			add(e)
		case "auth":
			n := 0
			for _, id := range a.IDs {
				// Only identities whose provider isAuthenticated count:
				// digest (super has no provider, ip is not authenticated).
				if id.Scheme == "digest" {
					add(ACL{e.Perms, id})
					n++
				}
			}
			if n == 0 {
				return nil, ErrInvalidACL
			}
		case "digest":
			if javaSplitLen(e.ID.ID, ":") != 2 {
				return nil, ErrInvalidACL
			}
			add(e)
		case "ip":
			if _, ok := parseIPEntry(e.ID.ID); !ok {
				return nil, ErrInvalidACL
			}
			add(e)
		default:
			return nil, ErrInvalidACL
		}
	}
	return out, nil
}

// visibleACL returns acl as getACL shows it: without ADMIN, digest ids
// come back as "user:x".
func visibleACL(acl []ACL, admin bool) []ACL {
	if admin {
		return acl
	}
	out := make([]ACL, len(acl))
	for i, e := range acl {
		if e.ID.Scheme == "digest" {
			user, _, _ := strings.Cut(e.ID.ID, ":")
			e.ID.ID = user + ":x"
		}
		out[i] = e
	}
	return out
}

// javaSplitLen is len(id.split(sep)) in Java, which drops trailing empty
// strings: "user:" has 1 part, ":" none.
func javaSplitLen(s, sep string) int {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return len(parts)
}
