package clienttest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"zkfdb/internal/difftest"
	"zkfdb/internal/zkref"
)

// cliStep is one zkCli command and what it prints, normalized (see
// normalize).
type cliStep struct {
	cmd, want string
	// unordered: the output lists a server hash set (getEphemerals,
	// whoami), compared with sortedOutput.
	unordered bool
	// known names a difference between Debian's ZooKeeper 3.8.0 and
	// 3.9, which layerd implements (difftest.KnownDifferences); then
	// want39 is what layerd prints, and want what the reference does.
	known, want39 string
}

// cliScript is one zkCli session. Before it, each of oneShot runs as a
// zkCli command line of its own (zkref.ZkCli), for what the line-based
// standard input cannot carry, such as data with a newline.
type cliScript struct {
	name    string
	oneShot [][]string
	steps   []cliStep
}

// lines is its arguments, each ended by a newline.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

// stat is how zkCli prints a Stat ("get -s", "stat", "ls -s", …),
// normalized: zxids as ranks, times recent, the owner as a session rank.
func stat(czxid, mzxid, pzxid string, cversion, dataVersion, aclVersion int, owner string, dataLength, numChildren int) string {
	return lines(
		"cZxid = "+czxid,
		"ctime = now",
		"mZxid = "+mzxid,
		"mtime = now",
		"pZxid = "+pzxid,
		fmt.Sprintf("cversion = %d", cversion),
		fmt.Sprintf("dataVersion = %d", dataVersion),
		fmt.Sprintf("aclVersion = %d", aclVersion),
		"ephemeralOwner = "+owner,
		fmt.Sprintf("dataLength = %d", dataLength),
		fmt.Sprintf("numChildren = %d", numChildren),
	)
}

const (
	aliceDigest = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" // alice:secret
	bobDigest   = "bob:1Yu1ryCXOIF7lyFzbmQ5J+MJOZc="   // bob:hunter2
)

// cliScripts are the zkCli sessions, each run on a fresh server. The
// zxid ranks in the wants count every zxid the session's Stats show.
func cliScripts() []cliScript {
	return []cliScript{
		{
			// Z1 /ml, Z2 /app, Z3 /app/c (the last child created), Z4 set
			// /app, Z5 set /ml, Z6 delete /app/c, Z7 deleteall /app.
			name:    "data",
			oneShot: [][]string{{"create", "/ml", "line one\nline two"}},
			steps: []cliStep{
				{cmd: `create /app "hello world"`, want: "Created /app\n"},
				{cmd: `create /app/b bee`, want: "Created /app/b\n"},
				{cmd: `create /app/a`, want: "Created /app/a\n"},
				{cmd: `create /app/c ""`, want: "Created /app/c\n"},
				{cmd: `get /app`, want: "hello world\n"},
				{cmd: `get -s /app`, want: "hello world\n" + stat("Z2", "Z2", "Z3", 3, 0, 0, "0", 11, 3)},
				{cmd: `set /app v2`, want: ""},
				{cmd: `get -s /app`, want: "v2\n" + stat("Z2", "Z4", "Z3", 3, 1, 0, "0", 2, 3)},
				{cmd: `stat /app`, want: stat("Z2", "Z4", "Z3", 3, 1, 0, "0", 2, 3)},
				{cmd: `ls /app`, want: "[a, b, c]\n"},
				{cmd: `ls -s /app`, want: "[a, b, c]\n" + stat("Z2", "Z4", "Z3", 3, 1, 0, "0", 2, 3)},
				{cmd: `ls -R /app`, want: lines("/app", "/app/a", "/app/b", "/app/c")},
				{cmd: `getAllChildrenNumber /app`, want: "3\n"},
				// /ml, /app and its 3 children, /zookeeper, /zookeeper/config
				// and /zookeeper/quota.
				{cmd: `getAllChildrenNumber /`, want: "8\n"},
				{cmd: `getAllChildrenNumber /zookeeper`, want: "2\n"},
				{cmd: `sync /app`, want: "Sync is OK\n"},
				{cmd: `get /app/a`, want: "null\n"}, // no data: null
				{cmd: `get /app/c`, want: "\n"},     // "": empty
				{cmd: `get /app/b`, want: "bee\n"},
				{cmd: `get -s /ml`, want: lines("line one", "line two") + stat("Z1", "Z1", "Z1", 0, 0, 0, "0", 17, 0)},
				{cmd: `set -s /ml "line three"`, want: stat("Z1", "Z5", "Z1", 0, 1, 0, "0", 10, 0)},
				{cmd: `get /ml`, want: "line three\n"},
				{cmd: `delete /app/c`, want: ""},
				{cmd: `ls -s /app`, want: "[a, b]\n" + stat("Z2", "Z4", "Z6", 4, 1, 0, "0", 2, 2)},
				{cmd: `deleteall /app`, want: ""},
				{cmd: `stat /app`, want: "Node does not exist: /app\n"},
				{cmd: `ls /`, want: "[ml, zookeeper]\n"},
				{cmd: `ls /zookeeper`, want: "[config, quota]\n"},
				{cmd: `get /zookeeper/config`, want: "\n"},
				{cmd: `getAllChildrenNumber /`, want: "4\n"},
				// The root and /zookeeper are not created by txns: zxids 0,
				// times the epoch. Z7 is deleteall's (one multi).
				{cmd: `stat /`, want: lines("cZxid = 0", "ctime = 0", "mZxid = 0", "mtime = 0", "pZxid = Z7",
					"cversion = 2", "dataVersion = 0", "aclVersion = 0", "ephemeralOwner = 0", "dataLength = 0", "numChildren = 2")},
				{cmd: `stat /zookeeper`, want: lines("cZxid = 0", "ctime = 0", "mZxid = 0", "mtime = 0", "pZxid = 0",
					"cversion = -2", "dataVersion = 0", "aclVersion = 0", "ephemeralOwner = 0", "dataLength = 0", "numChildren = 2")},
				{cmd: `getAcl /`, want: lines("'world,'anyone", ": cdrwa")},
				{cmd: `getAcl /zookeeper/config`, want: lines("'world,'anyone", ": r")},
			},
		},
		{
			// Z1 /m, Z2 /m/eph, Z3 /m/cont, Z4 /m/ttls-… (the last child
			// created), Z5 the first session's close (its ephemerals
			// deleted), Z6 /m/eph2, Z7 /m/n-0000000009.
			name: "modes",
			steps: []cliStep{
				{cmd: `create /m`, want: "Created /m\n"},
				{cmd: `create -s /m/n- one`, want: "Created /m/n-0000000000\n"},
				{cmd: `create -s /m/n- two`, want: "Created /m/n-0000000001\n"},
				{cmd: `create -s /m/x-`, want: "Created /m/x-0000000002\n"},
				{cmd: `create -e /m/eph e`, want: "Created /m/eph\n"},
				{cmd: `create -e -s /m/es-`, want: "Created /m/es-0000000004\n"},
				{cmd: `create -c /m/cont`, want: "Created /m/cont\n"},
				{cmd: `create -c -s /m/bad`, want: "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.\n"},
				{cmd: `create -t 60000 /m/ttl`, want: "Created /m/ttl\n"},
				{cmd: `create -t 60000 -s /m/ttls-`, want: "Created /m/ttls-0000000007\n"},
				{cmd: `get /m/n-0000000001`, want: "two\n"},
				{cmd: `get -s /m/eph`, want: "e\n" + stat("Z2", "Z2", "Z2", 0, 0, 0, "S1", 1, 0)},
				// Containers and TTL nodes show no owner.
				{cmd: `stat /m/cont`, want: stat("Z3", "Z3", "Z3", 0, 0, 0, "0", 0, 0)},
				{cmd: `getEphemerals`, want: "[/m/eph, /m/es-0000000004]\n", unordered: true},
				{cmd: `getEphemerals /m/e`, want: "[/m/eph, /m/es-0000000004]\n", unordered: true},
				{cmd: `getEphemerals /m/n`, want: "[]\n"},
				{cmd: `create /m/eph/child`, want: "Ephemerals cannot have children: /m/eph/child\n"},
				{cmd: `ls /m`, want: "[cont, eph, es-0000000004, n-0000000000, n-0000000001, ttl, ttls-0000000007, x-0000000002]\n"},
				{cmd: `ls -s /m`, want: "[cont, eph, es-0000000004, n-0000000000, n-0000000001, ttl, ttls-0000000007, x-0000000002]\n" +
					stat("Z1", "Z1", "Z4", 8, 0, 0, "0", 0, 8)},
				// A new session: the first one's ephemerals are gone.
				{cmd: `close`, want: ""},
				// The marker after close prints "Not connected" (its handle
				// is closed); it lands in connect's part.
				{cmd: `connect {addr}`, want: "Not connected\n"},
				{cmd: `stat /m/eph`, want: "Node does not exist: /m/eph\n"},
				{cmd: `getEphemerals`, want: "[]\n"},
				{cmd: `ls -s /m`, want: "[cont, n-0000000000, n-0000000001, ttl, ttls-0000000007, x-0000000002]\n" +
					stat("Z1", "Z1", "Z5", 10, 0, 0, "0", 0, 6)},
				{cmd: `create -e /m/eph2`, want: "Created /m/eph2\n"},
				{cmd: `get -s /m/eph2`, want: "null\n" + stat("Z6", "Z6", "Z6", 0, 0, 0, "S2", 0, 0)},
				{cmd: `getEphemerals`, want: "[/m/eph2]\n"},
				// The sequence counter counts the parent's creates, not its
				// deletes (cversion counts both): 9 so far.
				{cmd: `create -s /m/n- three`, want: "Created /m/n-0000000009\n"},
				{cmd: `stat /m`, want: stat("Z1", "Z1", "Z7", 12, 0, 0, "0", 0, 8)},
			},
		},
		{
			name: "errors",
			steps: []cliStep{
				{cmd: `create /e zz`, want: "Created /e\n"},
				{cmd: `create /e again`, want: "Node already exists: /e\n"},
				{cmd: `create /no/parent`, want: "Node does not exist: /no/parent\n"},
				{cmd: `get /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `get -s /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `set -v 5 /e v`, want: "version No is not valid : /e\n"},
				{cmd: `set -v 0 /e v`, want: ""},
				{cmd: `set -v 0 /e w`, want: "version No is not valid : /e\n"},
				{cmd: `get /e`, want: "v\n"},
				{cmd: `delete -v 7 /e`, want: "version No is not valid : /e\n"},
				{cmd: `create /e/c`, want: "Created /e/c\n"},
				{cmd: `delete /e`, want: "Node not empty: /e\n"},
				{cmd: `deleteall /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `delete /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `set /nope x`, want: "Node does not exist: /nope\n"},
				{cmd: `ls /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `stat /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `getAcl /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `setAcl /nope world:anyone:r`, want: "Node does not exist: /nope\n"},
				{cmd: `getAllChildrenNumber /nope`, want: "Node does not exist: /nope\n"},
				{cmd: `sync /nope`, want: "Sync is OK\n"},
				{cmd: `create relative`, want: "Path must start with / character\n"},
				{cmd: `delete /`, want: "Arguments are not valid : /\n"},
				{cmd: `delete /zookeeper`, want: "Arguments are not valid : /zookeeper\n"},
				{cmd: `delete /zookeeper/quota`, want: "Arguments are not valid : /zookeeper/quota\n"},
				{cmd: `reconfig -add server.5=127.0.0.1:1234:1235;1236`, want: "KeeperErrorCode = Reconfig is disabled\n"},
				{cmd: `create -t 0 /e/t0`, want: "ttl must be positive and cannot be larger than: 1099511627775\n"},
				{cmd: `setAcl /e foo:bar:cdrwa`, want: "Acl is not valid : /e\n"},
				{cmd: `setAcl /e digest:nocolon:cdrwa`, want: "Acl is not valid : /e\n"},
				{cmd: `create /e/x x foo:bar:cdrwa`, want: lines("KeeperErrorCode = InvalidACL for /e/x", "Acl is not valid : /e/x")},
				// No permission at all: not even the creator may read it.
				{cmd: `create /e/x x world:anyone:`, want: "Created /e/x\n"},
				{cmd: `getAcl /e/x`, want: "Insufficient permission : /e/x\n"},
				{cmd: `get /e/x`, want: "Insufficient permission : /e/x\n"},
				{cmd: `stat /e/x`, want: stat("Z3", "Z3", "Z3", 0, 0, 0, "0", 1, 0),
					known: "exists-no-read", want39: "Insufficient permission : /e/x\n"},
				// Z1 /e, Z2 its set, Z3 /e/x; failed writes changed nothing.
				{cmd: `stat /e`, want: stat("Z1", "Z2", "Z3", 2, 1, 0, "0", 1, 2)},
				{cmd: `delete /e/x`, want: ""},
				{cmd: `delete /e/c`, want: ""},
				{cmd: `delete -v 1 /e`, want: ""},
				{cmd: `stat /e`, want: "Node does not exist: /e\n"},
			},
		},
		{
			// Z1 /q, Z2 the delete of /q/y (its last child change).
			name: "quota",
			steps: []cliStep{
				{cmd: `create /q`, want: "Created /q\n"},
				{cmd: `setquota -n 5 /q`, want: ""},
				{cmd: `setquota -n 5 /q`, want: ""}, // zkCli: the quota exists, no error
				{cmd: `create /q/x`, want: "Created /q/x\n"},
				{cmd: `create /q/y 12345`, want: "Created /q/y\n"},
				{cmd: `ls /zookeeper/quota`, want: "[q]\n"},
				{cmd: `ls /zookeeper/quota/q`, want: "[zookeeper_limits, zookeeper_stats]\n"},
				{cmd: `get /zookeeper/quota/q/zookeeper_limits`, want: "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\n"},
				// ZooKeeper's DataTree keeps the stats node of a quota: the
				// count and bytes of the subtree, /q included, updated by
				// every create, delete and setData below /q.
				{cmd: `get /zookeeper/quota/q/zookeeper_stats`, want: "count=3,bytes=5\n"},
				{cmd: `listquota /q`, want: lines("absolute path is /zookeeper/quota/q/zookeeper_limits",
					"Output quota for /q count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
					"Output stat for /q count=3,bytes=5")},
				{cmd: `set /q/x 1234567`, want: ""},
				{cmd: `delete /q/y`, want: ""},
				{cmd: `create /q/x/z`, want: "Created /q/x/z\n"},
				{cmd: `get /zookeeper/quota/q/zookeeper_stats`, want: "count=3,bytes=7\n"},
				{cmd: `setquota -n 5 /q/x`, want: "/q/x has a parent /q which has a quota\n"},
				{cmd: `delquota /q`, want: ""},
				{cmd: `listquota /q`, want: lines("absolute path is /zookeeper/quota/q/zookeeper_limits", "quota for /q does not exist.")},
				{cmd: `ls /zookeeper/quota`, want: "[]\n"},
				{cmd: `stat /q`, want: stat("Z1", "Z1", "Z2", 3, 0, 0, "0", 0, 1)},
			},
		},
		{
			name: "acl",
			steps: []cliStep{
				{cmd: `create /acl`, want: "Created /acl\n"},
				{cmd: `getAcl /acl`, want: lines("'world,'anyone", ": cdrwa")},
				{cmd: `create /acl/sec s digest:` + aliceDigest + `:cdrwa`, want: "Created /acl/sec\n"},
				{cmd: `getAcl /acl/sec`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `get /acl/sec`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `set /acl/sec x`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `ls /acl/sec`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `create /acl/sec/c`, want: "Insufficient permission : /acl/sec/c\n"},
				{cmd: `setAcl /acl/sec world:anyone:cdrwa`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `stat /acl/sec`, want: stat("Z1", "Z1", "Z1", 0, 0, 0, "0", 1, 0),
					known: "exists-no-read", want39: "Insufficient permission : /acl/sec\n"},
				{cmd: `whoami`, want: lines("Auth scheme: User", "ip: 127.0.0.1"), unordered: true},
				{cmd: `addauth digest bob:hunter2`, want: ""},
				{cmd: `get /acl/sec`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `addauth digest alice:wrong`, want: ""},
				{cmd: `get /acl/sec`, want: "Insufficient permission : /acl/sec\n"},
				{cmd: `addauth digest alice:secret`, want: ""},
				// Any password authenticates its user; only ACLs tell.
				{cmd: `whoami`, want: lines("Auth scheme: User", "ip: 127.0.0.1", "digest: bob", "digest: alice", "digest: alice"), unordered: true},
				{cmd: `get /acl/sec`, want: "s\n"},
				{cmd: `getAcl -s /acl/sec`, want: lines("'digest,'"+aliceDigest, ": cdrwa") + stat("Z1", "Z1", "Z1", 0, 0, 0, "0", 1, 0)},
				{cmd: `set /acl/sec s2`, want: ""},
				{cmd: `create /acl/sec/c cc`, want: "Created /acl/sec/c\n"},
				{cmd: `getAcl /acl/sec/c`, want: lines("'world,'anyone", ": cdrwa")},
				{cmd: `setAcl /acl/sec/c world:anyone:r`, want: ""},
				{cmd: `getAcl -s /acl/sec/c`, want: lines("'world,'anyone", ": r") + stat("Z2", "Z2", "Z2", 0, 0, 1, "0", 2, 0)},
				{cmd: `set /acl/sec/c x`, want: "Insufficient permission : /acl/sec/c\n"},
				{cmd: `setAcl -s /acl/sec/c world:anyone:cdrwa`, want: "Insufficient permission : /acl/sec/c\n"},
				{cmd: `setAcl -v 0 /acl/sec digest:` + aliceDigest + `:cdrwa,world:anyone:r`, want: ""},
				{cmd: `setAcl -v 0 /acl/sec world:anyone:cdrwa`, want: "version No is not valid : /acl/sec\n"},
				{cmd: `getAcl /acl/sec`, want: lines("'digest,'"+aliceDigest, ": cdrwa", "'world,'anyone", ": r")},
				// auth: every identity the session has.
				{cmd: `create /acl/mine m auth::cdrwa`, want: "Created /acl/mine\n"},
				// alice:wrong is an identity too ("alice:" and the hash of "wrong").
				{cmd: `getAcl /acl/mine`, want: lines("'digest,'"+bobDigest, ": cdrwa", "'digest,'"+aliceDigest, ": cdrwa",
					"'digest,'alice:9ussi3jBkbd4no1raUvxHSkUEN8=", ": cdrwa"), unordered: true},
				{cmd: `create /acl/ip i ip:127.0.0.1:cdrwa`, want: "Created /acl/ip\n"},
				{cmd: `getAcl /acl/ip`, want: lines("'ip,'127.0.0.1", ": cdrwa")},
				{cmd: `get /acl/ip`, want: "i\n"},
				{cmd: `create /acl/ip10 i ip:10.0.0.0/8:cdrwa`, want: "Created /acl/ip10\n"},
				{cmd: `get /acl/ip10`, want: "Insufficient permission : /acl/ip10\n"},
				{cmd: `create /acl/ro r world:anyone:r`, want: "Created /acl/ro\n"},
				{cmd: `set /acl/ro x`, want: "Insufficient permission : /acl/ro\n"},
				{cmd: `create /acl/ro/x`, want: "Insufficient permission : /acl/ro/x\n"},
				{cmd: `setAcl /acl/ro world:anyone:cdrwa`, want: "Insufficient permission : /acl/ro\n"},
				// Without ADMIN, getAcl hides the digests.
				{cmd: `create /acl/two t digest:` + aliceDigest + `:r,digest:` + bobDigest + `:rw`, want: "Created /acl/two\n"},
				{cmd: `getAcl /acl/two`, want: lines("'digest,'alice:x", ": r", "'digest,'bob:x", ": rw")},
				// DELETE is checked on the parent.
				{cmd: `setAcl /acl world:anyone:rwa`, want: ""},
				{cmd: `delete /acl/ro`, want: "Insufficient permission : /acl/ro\n"},
				{cmd: `setAcl /acl world:anyone:cdrwa`, want: ""},
				{cmd: `delete /acl/ro`, want: ""},
				// A new session has none of the identities.
				{cmd: `close`, want: ""},
				{cmd: `connect {addr}`, want: "Not connected\n"},
				{cmd: `whoami`, want: lines("Auth scheme: User", "ip: 127.0.0.1"), unordered: true},
				{cmd: `get /acl/sec`, want: "s2\n"}, // world:anyone:r now
				{cmd: `get /acl/mine`, want: "Insufficient permission : /acl/mine\n"},
				{cmd: `setAcl /acl/mine world:anyone:cdrwa`, want: "Insufficient permission : /acl/mine\n"},
				{cmd: `addauth digest alice:secret`, want: ""},
				{cmd: `get /acl/mine`, want: "m\n"},
				// auth with one identity.
				{cmd: `create /acl/alice a auth::cdrwa`, want: "Created /acl/alice\n"},
				{cmd: `getAcl /acl/alice`, want: lines("'digest,'"+aliceDigest, ": cdrwa")},
				// An unknown scheme or null digest data fail the session
				// (AUTH_FAILED), but whether the next command sees
				// AuthFailed or "Not connected" is a race in zkCli: kazoo's
				// add_auth, which waits for the reply, checks them
				// (testdata/kazoo_ops.py).
			},
		},
	}
}

// TestZkCliVsZooKeeper runs each zkCli session against Apache ZooKeeper
// and against layerd, both fresh, and requires both to print what the
// script wants. The reference passing proves the want; layerd passing
// proves layerd.
func TestZkCliVsZooKeeper(t *testing.T) {
	for _, sc := range cliScripts() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			servers := available(t)
			addrs := make([]string, len(servers))
			for i, srv := range servers {
				addrs[i] = srv.start(t)
			}
			cmds := make([]string, len(sc.steps))
			for i, s := range sc.steps {
				cmds[i] = s.cmd
			}
			outs := make([][]string, len(servers))
			errs := make([]error, len(servers))
			var wg sync.WaitGroup
			for i, addr := range addrs {
				wg.Go(func() {
					for _, args := range sc.oneShot {
						if _, err := zkref.ZkCli(t.Context(), addr, args...); err != nil {
							errs[i] = err
							return
						}
					}
					outs[i], errs[i] = runCli(t.Context(), t, addr, cmds)
				})
			}
			wg.Wait()
			for i, srv := range servers {
				if errs[i] != nil {
					t.Fatalf("%s: %v", srv.name, errs[i])
				}
				outs[i] = normalize(outs[i])
			}
			for i, s := range sc.steps {
				for j, srv := range servers {
					// A known difference: ZooKeeper 3.8 prints want,
					// layerd (3.9's behaviour) want39.
					got, want := outs[j][i], s.want
					if s.known != "" && srv.engine != nil {
						want = s.want39
					}
					if s.unordered {
						got, want = sortedOutput(got), sortedOutput(want)
					}
					if got != want {
						t.Errorf("step %d %q: %s printed\n%sand the script wants\n%s",
							i+1, s.cmd, srv.name, indent(got), indent(want))
					}
				}
			}
		})
	}
}

// indent shows an output in an error message, empty ones too.
func indent(s string) string {
	if s == "" {
		return "\t(nothing)\n"
	}
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t") + "\n"
}

// TestZkCliOneShot runs zkCli with a command on its command line, as
// shell scripts do (zkref.ZkCli): its exit status says whether the
// command failed, and the error text goes to standard error.
func TestZkCliOneShot(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			addr := srv.start(t)
			ctx, cancel := context.WithTimeout(t.Context(), 4*cliTimeout)
			defer cancel()
			for _, c := range []struct {
				args []string
				want string // standard output, cleaned
				fail string // "": must succeed; else in the error
			}{
				{args: []string{"create", "/one", "x y"}},
				{args: []string{"get", "/one"}, want: "x y\n"},
				{args: []string{"ls", "/"}, want: "[one, zookeeper]\n"},
				{args: []string{"create", "/one"}, fail: "Node already exists: /one"},
				{args: []string{"get", "/nope"}, fail: "Node does not exist: /nope"},
				{args: []string{"set", "-v", "3", "/one", "z"}, fail: "version No is not valid : /one"},
				{args: []string{"create", "/one/c"}},
				{args: []string{"delete", "/one"}, fail: "Node not empty: /one"},
				{args: []string{"deleteall", "/one"}},
				{args: []string{"ls", "/"}, want: "[zookeeper]\n"},
			} {
				out, err := zkref.ZkCli(ctx, addr, c.args...)
				var exit *exec.ExitError
				switch {
				case c.fail == "" && err != nil:
					t.Errorf("zkCli %q: %v", c.args, err)
				case c.fail != "" && !errors.As(err, &exit):
					t.Errorf("zkCli %q = %v, want a non-zero exit status", c.args, err)
				case c.fail != "" && !strings.Contains(err.Error(), "\n"+c.fail+"\n"):
					t.Errorf("zkCli %q: %q not on its standard error:\n%v", c.args, c.fail, err)
				}
				if got := splitCliOutput(out)[0]; got != c.want {
					t.Errorf("zkCli %q printed\n%swant\n%s", c.args, indent(got), indent(c.want))
				}
			}
		})
	}
}

// TestKnownDifferencesNamed checks that the steps marked known name a
// difference the differential tests know.
func TestKnownDifferencesNamed(t *testing.T) {
	ids := map[string]bool{}
	for _, k := range difftest.KnownDifferences {
		ids[k.ID] = true
	}
	for _, sc := range cliScripts() {
		for _, s := range sc.steps {
			if s.known != "" && !ids[s.known] {
				t.Errorf("%s: %q is marked known %q, which difftest.KnownDifferences does not list", sc.name, s.cmd, s.known)
			}
		}
	}
}
