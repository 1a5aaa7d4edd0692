package zkserver

import (
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/znode"
)

// TestExtendedTypesOff: without ExtendedTypes (ZooKeeper's
// zookeeper.extendedTypesEnabled, off by default there too), TTL creates
// are refused as Debian's ZooKeeper 3.8.0 refuses them (recorded against
// it): createTTL gets UNIMPLEMENTED with a zxid of its own and the
// connection stays; in a multi, the TTL create fails with UNIMPLEMENTED,
// the ops before it report OK and those after it RUNTIMEINCONSISTENCY,
// and nothing is applied. With ExtendedTypes the same requests succeed.
func TestExtendedTypesOff(t *testing.T) { engines.Each(t, testExtendedTypesOff) }

func testExtendedTypesOff(t *testing.T, e engines.Engine) {
	for _, on := range []bool{false, true} {
		addr, _ := serveWith(t, e.Open(t, engines.Options{}), Config{TickTime: 500 * time.Millisecond, ExtendedTypes: on}, znode.Options{})
		c, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
		acl := []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}
		call := func(xid int32, r zkwire.Request) (zkwire.ReplyHeader, zkwire.Record) {
			t.Helper()
			c.send(c.request(xid, r))
			h, body, err := c.reply()
			if err != nil {
				t.Fatalf("extended types %v, xid %d: %v", on, xid, err)
			}
			var rec zkwire.Record
			if h.Err == zkwire.CodeOK {
				if rec, err = zkwire.DecodeResponse(r.Opcode(), body); err != nil {
					t.Fatal(err)
				}
			}
			return h, rec
		}
		first, _ := call(1, &zkwire.Create{Path: "/p1", ACL: acl})
		ttl, _ := call(2, &zkwire.CreateTTL{Path: "/t1", ACL: acl, Flags: zkwire.FlagPersistentWithTTL, TTL: 60_000})
		multi, rec := call(3, &zkwire.Multi{Ops: []zkwire.Request{
			&zkwire.Create{Path: "/p2", ACL: acl},
			&zkwire.CreateTTL{Path: "/t2", ACL: acl, Flags: zkwire.FlagPersistentWithTTL, TTL: 60_000},
			&zkwire.Create{Path: "/p3", ACL: acl},
		}})
		after, _ := call(4, &zkwire.Exists{Path: "/p2"})
		if !on {
			if ttl.Err != zkwire.CodeUnimplemented || ttl.Zxid <= first.Zxid {
				t.Errorf("createTTL, extended types off: %+v after zxid %#x, want UNIMPLEMENTED with a new zxid", ttl, first.Zxid)
			}
			res := rec.(*zkwire.MultiResponse).Results
			want := []zkwire.Code{zkwire.CodeOK, zkwire.CodeUnimplemented, zkwire.CodeRuntimeInconsistency}
			for i, r := range res {
				if r.Type != zkwire.OpError || r.Err != want[i] {
					t.Errorf("multi op %d, extended types off: %+v, want an error result %v", i, r, want[i])
				}
			}
			if after.Err != zkwire.CodeNoNode {
				t.Errorf("exists /p2 after the refused multi: %v, want NONODE", after.Err)
			}
			continue
		}
		if ttl.Err != zkwire.CodeOK || multi.Err != zkwire.CodeOK || after.Err != zkwire.CodeOK {
			t.Errorf("extended types on: createTTL %v, multi %v, exists %v; want all OK", ttl.Err, multi.Err, after.Err)
		}
	}
}
