package zkserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// FoundationDB's limits met with ZooKeeper's behaviour (docs/fdb.md,
// "ZooKeeper's limits on FoundationDB"), through real clients, on both
// engines.

// connectBig is connect for a client whose buffer takes frames of up to
// n bytes (go-zookeeper's default is 1.5 MiB).
func connectBig(t *testing.T, addr string, n int) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 20*time.Second, zk.WithLogger(quietLogger{}), zk.WithMaxConnBufferSize(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			t.Fatal("no session within 10s")
		}
	}
}

func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// limitScale divides the size of the large tests' work under the race
// detector (race_on_test.go); their figures in docs/fdb.md are from
// runs without it.
func limitScale(n int) int {
	if raceDetector {
		return n / 4
	}
	return n
}

// TestDataUpToMaxBuffer: znode data up to jute.maxbuffer (1 MiB), ten
// times FoundationDB's value limit, is created, read, replaced and written
// by a multi through a real client; a frame beyond jute.maxbuffer closes
// the connection with no reply, as ZooKeeper does.
func TestDataUpToMaxBuffer(t *testing.T) { engines.Each(t, testDataUpToMaxBuffer) }

func testDataUpToMaxBuffer(t *testing.T, e engines.Engine) {
	addr, _ := serveWith(t, e.Open(t, engines.Options{}), Config{}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	const size = 1_048_000 // with the request's header and path, just under 1,048,575
	big := filled(size, 'a')
	if _, err := c.Create("/big", big, 0, acl); err != nil {
		t.Fatalf("create with %d bytes: %v", size, err)
	}
	data, st, err := c.Get("/big")
	if err != nil || !bytes.Equal(data, big) || st.DataLength != size {
		t.Fatalf("getData: %d bytes (equal %v), dataLength %d, %v", len(data), bytes.Equal(data, big), st.DataLength, err)
	}
	// Replaced by data as long, then by shorter data: no stale chunk
	// survives.
	other := filled(size, 'b')
	if _, err := c.Set("/big", other, 0); err != nil {
		t.Fatalf("setData with %d bytes: %v", size, err)
	}
	if data, _, err := c.Get("/big"); err != nil || !bytes.Equal(data, other) {
		t.Fatalf("getData after setData: %d bytes, %v", len(data), err)
	}
	short := append(filled(90_001, 'c'), 'd')
	if _, err := c.Set("/big", short, 1); err != nil {
		t.Fatal(err)
	}
	if data, st, err := c.Get("/big"); err != nil || !bytes.Equal(data, short) || st.DataLength != int32(len(short)) {
		t.Fatalf("getData after a shorter setData: %d bytes, %v", len(data), err)
	}
	// A multi of about 1 MiB: two creates and a setData.
	half := size/2 - 1000
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m1", Data: filled(half, '1'), Acl: acl},
		&zk.CreateRequest{Path: "/m2", Data: filled(half, '2'), Acl: acl},
		&zk.SetDataRequest{Path: "/big", Data: []byte("small"), Version: 2},
	)
	if err != nil {
		t.Fatalf("multi of %d bytes: %v", 2*half, err)
	}
	for i, r := range res {
		if r.Error != nil {
			t.Fatalf("multi op %d: %v", i, r.Error)
		}
	}
	for p, want := range map[string][]byte{"/m1": filled(half, '1'), "/m2": filled(half, '2'), "/big": []byte("small")} {
		if data, _, err := c.Get(p); err != nil || !bytes.Equal(data, want) {
			t.Fatalf("after the multi, %s: %d bytes, %v", p, len(data), err)
		}
	}

	// One byte more than jute.maxbuffer: ZooKeeper closes the connection
	// without a reply.
	raw, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	frame := raw.request(1, &zkwire.SetData{Path: "/big", Data: filled(zkwire.DefaultMaxBuffer, 'x'), Version: -1})
	if n := len(frame) - 4; n <= zkwire.DefaultMaxBuffer {
		t.Fatalf("frame of %d bytes is not over the limit", n)
	}
	raw.nc.Write(frame) // the server may close before it has read it all
	if h, _, err := raw.reply(); err == nil {
		t.Fatalf("a frame over jute.maxbuffer was answered: %+v", h)
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
		t.Fatalf("after a frame over jute.maxbuffer: %v, want the connection closed", err)
	}
	if data, _, err := c.Get("/big"); err != nil || string(data) != "small" {
		t.Fatalf("the refused frame changed /big: %q, %v", data, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// TestLongPaths: ZooKeeper takes paths as long as a frame; FoundationDB
// keys stop at 10,000 bytes, so layerd takes paths of up to
// keys.MaxPathLen bytes. A write that would make a longer one is refused
// with BADARGUMENTS; every read and every other write of one answers as
// for a node that does not exist (it cannot); watches on one are taken
// and never fire. No request closes the connection.
func TestLongPaths(t *testing.T) { engines.Each(t, testLongPaths) }

func testLongPaths(t *testing.T, e engines.Engine) {
	addr, _ := serveWith(t, e.Open(t, engines.Options{}), Config{ExtendedTypes: true}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/p", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	// The longest path: created, read, listed, deleted.
	longest := "/p/" + strings.Repeat("a", keys.MaxPathLen-3)
	if p, err := c.Create(longest, []byte("v"), 0, acl); err != nil || p != longest {
		t.Fatalf("create of a %d-byte path: %v", len(longest), err)
	}
	if data, _, err := c.Get(longest); err != nil || string(data) != "v" {
		t.Fatalf("getData of the longest path: %q, %v", data, err)
	}
	if kids, _, err := c.Children("/p"); err != nil || len(kids) != 1 || len(kids[0]) != keys.MaxPathLen-3 {
		t.Fatalf("children of /p: %d, %v", len(kids), err)
	}
	if _, err := c.Set(longest, []byte("w"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(longest, 1); err != nil {
		t.Fatal(err)
	}

	tooLong := longest + "b"
	deep := tooLong + "/c"
	for name, err := range map[string]error{
		"create":                   second(c.Create(tooLong, nil, 0, acl)),
		"create under a long path": second(c.Create(deep, nil, 0, acl)),
		"ephemeral":                second(c.Create(tooLong, nil, zk.FlagEphemeral, acl)),
		// The name fits, the sequence suffix does not.
		"sequential": second(c.Create(longest[:len(longest)-5], nil, zk.FlagSequence, acl)),
	} {
		want := zk.ErrBadArguments
		if name == "create under a long path" {
			want = zk.ErrNoNode // its parent cannot exist: ZooKeeper's first check
		}
		if !errors.Is(err, want) {
			t.Errorf("%s of a path over %d bytes: %v, want %v", name, keys.MaxPathLen, err, want)
		}
	}
	ok, _, err := c.Exists(tooLong)
	if err != nil || ok {
		t.Errorf("exists: %v, %v; want false", ok, err)
	}
	for name, err := range map[string]error{
		"getData":     third(c.Get(tooLong)),
		"getChildren": third(c.Children(tooLong)),
		"getACL":      third(c.GetACL(tooLong)),
		"setData":     second(c.Set(tooLong, nil, -1)),
		"setACL":      second(c.SetACL(tooLong, acl, -1)),
		"delete":      c.Delete(tooLong, -1),
	} {
		if !errors.Is(err, zk.ErrNoNode) {
			t.Errorf("%s of a path over %d bytes: %v, want NONODE", name, keys.MaxPathLen, err)
		}
	}
	// A watched exists: NONODE, the watch taken (it can never fire).
	if ok, _, _, err := c.ExistsW(tooLong); err != nil || ok {
		t.Errorf("exists with a watch: %v, %v", ok, err)
	}
	// (go-zookeeper returns the failed op's error too.)
	res, err := c.Multi(&zk.CreateRequest{Path: "/p/fine", Acl: acl}, &zk.CreateRequest{Path: tooLong, Acl: acl})
	if !errors.Is(err, zk.ErrBadArguments) || len(res) != 2 || res[0].Error != nil || !errors.Is(res[1].Error, zk.ErrBadArguments) {
		t.Errorf("multi creating a long path: %+v, %v; want op 2 BADARGUMENTS", res, err)
	}
	res, err = c.Multi(&zk.CheckVersionRequest{Path: tooLong, Version: -1})
	if !errors.Is(err, zk.ErrNoNode) || len(res) != 1 || !errors.Is(res[0].Error, zk.ErrNoNode) {
		t.Errorf("multi checking a long path: %+v, %v; want NONODE", res, err)
	}
	if ok, _, _ := c.Exists("/p/fine"); ok {
		t.Error("the failed multi created /p/fine")
	}

	// The requests go-zookeeper does not send, raw.
	raw, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	for i, tc := range []struct {
		req  zkwire.Request
		want zkwire.Code
	}{
		{&zkwire.GetAllChildrenNumber{Path: tooLong}, zkwire.CodeNoNode},
		{&zkwire.GetChildren2{Path: tooLong}, zkwire.CodeNoNode},
		{&zkwire.AddWatch{Path: tooLong, Mode: 1}, zkwire.CodeOK},
		{&zkwire.RemoveWatches{Path: tooLong, Type: 3}, zkwire.CodeNoWatcher},
		{&zkwire.CreateTTL{Path: tooLong, ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}, Flags: 5, TTL: 1000}, zkwire.CodeBadArguments},
		{&zkwire.Sync{Path: tooLong}, zkwire.CodeOK},
	} {
		raw.send(raw.request(int32(i+1), tc.req))
		h, _, err := raw.reply()
		if err != nil || h.Err != tc.want {
			t.Errorf("%s of a long path: %+v, %v; want %v", tc.req.Opcode(), h, err, tc.want)
		}
	}
	// setWatches with long paths: a data or child watch on a node that
	// is not there fires NodeDeleted at once, an exist watch waits.
	raw2, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	raw2.send(raw2.request(-8, &zkwire.SetWatches{RelativeZxid: 1, Data: []string{tooLong}, Exist: []string{tooLong}, Child: []string{tooLong}}))
	var deleted int
	for {
		h, body, err := raw2.reply()
		if err != nil {
			t.Fatalf("setWatches: %v", err)
		}
		if h.Xid == -8 {
			if h.Err != zkwire.CodeOK {
				t.Errorf("setWatches: %v", h.Err)
			}
			break
		}
		var ev zkwire.WatcherEvent
		if err := zkwire.Decode(body, &ev); err != nil || ev.Type != 2 || ev.Path != tooLong {
			t.Errorf("setWatches event %+v, %v; want NodeDeleted of the long path", ev, err)
		}
		deleted++
	}
	if deleted != 2 {
		t.Errorf("setWatches sent %d NodeDeleted, want 2 (data and child)", deleted)
	}
	// The connection is still there.
	if _, _, err := c.Get("/p"); err != nil {
		t.Fatalf("the connection after long paths: %v", err)
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

// TestTransactionTooLarge: with jute.maxbuffer raised past FoundationDB's
// 10 MB transaction limit, a write that needs a larger transaction is
// refused with BADARGUMENTS (a multi as a whole, in the reply header) and
// applies nothing; the connection and the session go on, and a write
// under the limit succeeds. An ACL whose stat record would exceed FDB's
// value limit is refused alike.
func TestTransactionTooLarge(t *testing.T) { engines.Each(t, testTransactionTooLarge) }

func testTransactionTooLarge(t *testing.T, e engines.Engine) {
	const maxBuffer = 32 << 20
	addr, _ := serveWith(t, e.Open(t, engines.Options{}), Config{MaxBuffer: maxBuffer}, znode.Options{})
	c := connectBig(t, addr, maxBuffer)
	acl := zk.WorldACL(zk.PermAll)
	session := c.SessionID()

	const mb = 1_000_000
	var ops []any
	for i := range 11 { // 11 MB of data
		ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/big-%d", i), Data: filled(mb, byte('a'+i)), Acl: acl})
	}
	start := time.Now()
	if _, err := c.Multi(ops...); !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("multi of 11 MB: %v, want BADARGUMENTS", err)
	}
	t.Logf("multi of 11 MB refused in %v", time.Since(start))
	if _, err := c.Create("/huge", filled(11*mb, 'h'), 0, acl); !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("create with 11 MB of data: %v, want BADARGUMENTS", err)
	}
	if _, err := c.Create("/huge", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set("/huge", filled(11*mb, 'h'), -1); !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("setData of 11 MB: %v, want BADARGUMENTS", err)
	}
	for i := range 11 {
		if ok, _, err := c.Exists(fmt.Sprintf("/big-%d", i)); err != nil || ok {
			t.Fatalf("the refused multi created /big-%d: %v, %v", i, ok, err)
		}
	}
	if data, st, err := c.Get("/huge"); err != nil || len(data) != 0 || st.Version != 0 {
		t.Fatalf("the refused setData changed /huge: %d bytes, %+v, %v", len(data), st, err)
	}
	// Under the limit, larger than ZooKeeper's default maxbuffer: fine.
	if _, err := c.Multi(ops[:5]...); err != nil {
		t.Fatalf("multi of 5 MB: %v", err)
	}
	if data, _, err := c.Get("/big-4"); err != nil || !bytes.Equal(data, filled(mb, 'e')) {
		t.Fatalf("/big-4 after the multi: %d bytes, %v", len(data), err)
	}
	// ACLs live in the stat record, a value of at most 100,000 bytes,
	// with strings of at most 65,535 bytes.
	for _, n := range []int{70_000, 150_000} {
		wide := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "u:" + strings.Repeat("x", n)}}
		if _, err := c.Create(fmt.Sprintf("/acl-%d", n), nil, 0, wide); !errors.Is(err, zk.ErrBadArguments) {
			t.Errorf("create with a %d-byte ACL id: %v, want BADARGUMENTS", n, err)
		}
		if _, err := c.SetACL("/huge", wide, -1); !errors.Is(err, zk.ErrBadArguments) {
			t.Errorf("setACL with a %d-byte ACL id: %v, want BADARGUMENTS", n, err)
		}
	}
	if _, _, err := c.GetACL("/huge"); err != nil {
		t.Fatalf("getACL after the refusals: %v", err)
	}
	if c.SessionID() != session || c.State() != zk.StateHasSession {
		t.Fatalf("the session after the refusals: %#x, %v (was %#x)", c.SessionID(), c.State(), session)
	}
}

// createMany creates n children of parent, named name(i), with multis of
// 1,000 creates from 4 writers at once (creates under one parent do not
// conflict), through tree: far fewer round trips than n creates.
func createMany(t *testing.T, tree *znode.Tree, parent string, n int, name func(int) string) {
	t.Helper()
	batch, writers := limitScale(1000), 4
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for b := w * batch; b < n; b += writers * batch {
				ops := make([]znode.Op, 0, batch)
				for i := b; i < min(b+batch, n); i++ {
					ops = append(ops, znode.CreateOp{Path: parent + "/" + name(i), ACL: znode.OpenACLUnsafe, TTL: -1})
				}
				w, err := tree.Write(t.Context(), znode.Caller{Now: 1}, ops)
				if err == nil {
					err = w.Failed()
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatalf("creating %d children of %s: %v", n, parent, err)
		}
	}
}

// TestManyChildren: getChildren, getChildren2 with a watch and
// getAllChildrenNumber of a parent with 200,000 children, through a real
// client, each well within FoundationDB's 5-second window (one
// consistent transaction; docs/fdb.md has the times); the watch fires on
// the next child.
func TestManyChildren(t *testing.T) { engines.Each(t, testManyChildren) }

func testManyChildren(t *testing.T, e engines.Engine) {
	n := limitScale(200_000)
	addr, tree := serveWith(t, e.Open(t, engines.Options{}), Config{}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/many", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	createMany(t, tree, "/many", n, func(i int) string { return fmt.Sprintf("c-%06d", i) })
	t.Logf("%d children created in %v", n, time.Since(start))
	// A few grandchildren, for the count.
	for _, p := range []string{"/many/c-000007/g", "/many/c-000007/g/h", fmt.Sprintf("/many/c-%06d/g", n-1)} {
		if _, err := c.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}

	start = time.Now()
	kids, st, err := c.Children("/many")
	took := time.Since(start)
	if err != nil || len(kids) != n || st.NumChildren != int32(n) {
		t.Fatalf("getChildren: %d names, numChildren %d, %v; want %d", len(kids), st.NumChildren, err, n)
	}
	seen := make(map[string]bool, n)
	for _, k := range kids {
		seen[k] = true
	}
	if len(seen) != n || !seen["c-000000"] || !seen[fmt.Sprintf("c-%06d", n-1)] {
		t.Fatalf("getChildren: %d distinct names", len(seen))
	}
	t.Logf("getChildren of %d children: %v", n, took)

	start = time.Now()
	kids, _, events, err := c.ChildrenW("/many")
	if err != nil || len(kids) != n {
		t.Fatalf("getChildren2 with a watch: %d names, %v", len(kids), err)
	}
	t.Logf("getChildren2 with a watch of %d children: %v", n, time.Since(start))

	raw, _ := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 30_000})
	for i, tc := range []struct {
		path string
		want int32
	}{{"/many", int32(n + 3)}, {"/many/c-000007", 2}, {"/", int32(n + 3 + 1 + 3)}} {
		start = time.Now()
		raw.send(raw.request(int32(i+1), &zkwire.GetAllChildrenNumber{Path: tc.path}))
		h, body, err := raw.reply()
		var count zkwire.GetAllChildrenNumberResponse
		if err != nil || h.Err != zkwire.CodeOK || zkwire.Decode(body, &count) != nil || count.TotalNumber != tc.want {
			t.Fatalf("getAllChildrenNumber(%s): %+v %d, %v; want %d", tc.path, h, count.TotalNumber, err, tc.want)
		}
		t.Logf("getAllChildrenNumber(%s) = %d: %v", tc.path, count.TotalNumber, time.Since(start))
	}

	if _, err := c.Create("/many/last", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/many" {
			t.Fatalf("watch event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeChildrenChanged for /many")
	}
}

// TestSetWatchesMany: a reconnecting client's setWatches of 100,000 paths
// (one frame, under a raised jute.maxbuffer; real clients split theirs
// at 128 kB) is checked and registered in batches of transactions: what
// changed since the client's zxid fires at once, before the reply, the
// rest fires on the next change; the connection's watches are all
// cleared when it closes.
func TestSetWatchesMany(t *testing.T) { engines.Each(t, testSetWatchesMany) }

func testSetWatchesMany(t *testing.T, e engines.Engine) {
	existing, missing := limitScale(40_000), limitScale(30_000)
	st := e.Open(t, engines.Options{})
	addr, tree := serveWith(t, st, Config{MaxBuffer: 4 << 20}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/w", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	name := func(i int) string { return fmt.Sprintf("n-%06d", i) }
	createMany(t, tree, "/w", existing, name)
	var data, child, exist []string
	for i := range existing {
		data = append(data, "/w/"+name(i))
		if i < missing {
			child = append(child, "/w/"+name(i))
			exist = append(exist, fmt.Sprintf("/w/m-%06d", i))
		}
	}
	// The client's last zxid; then 100 data changes and 50 deletes.
	_, st0, err := c.Get("/w")
	if err != nil {
		t.Fatal(err)
	}
	rel := st0.Pzxid
	for i := range 100 {
		if _, err := c.Set(data[i], []byte("x"), -1); err != nil {
			t.Fatal(err)
		}
	}
	for i := 100; i < 150; i++ {
		if err := c.Delete(data[i], -1); err != nil {
			t.Fatal(err)
		}
	}

	raw, resp := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 30_000})
	raw.nc.SetDeadline(time.Now().Add(60 * time.Second))
	start := time.Now()
	raw.send(raw.request(-8, &zkwire.SetWatches{RelativeZxid: rel, Data: data, Exist: exist, Child: child}))
	counts := map[string]int{}
	for {
		h, body, err := raw.reply()
		if err != nil {
			t.Fatalf("setWatches of %d paths: %v", len(data)+len(exist)+len(child), err)
		}
		if h.Xid == -8 {
			if h.Err != zkwire.CodeOK {
				t.Fatalf("setWatches: %v", h.Err)
			}
			break
		}
		var ev zkwire.WatcherEvent
		if err := zkwire.Decode(body, &ev); err != nil {
			t.Fatal(err)
		}
		counts[fmt.Sprint(int32(ev.Type))]++
	}
	t.Logf("setWatches of %d paths: %v", len(data)+len(exist)+len(child), time.Since(start))
	// 100 NodeDataChanged; 50 deleted nodes: data and child watches,
	// 100 NodeDeleted.
	if counts["3"] != 100 || counts["2"] != 100 || len(counts) != 2 {
		t.Fatalf("immediate events by type: %v; want 100 NodeDataChanged (3), 100 NodeDeleted (2)", counts)
	}
	// The registered watches fire on the next changes.
	if _, err := c.Create(exist[7], nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(data[existing-1], []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(child[missing-1]+"/kid", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	want := []string{"1 " + exist[7], "3 " + data[existing-1], "4 " + child[missing-1]}
	raw.send(raw.request(1, &zkwire.Exists{Path: "/w"})) // a reply after the events
	var got []string
	for {
		h, body, err := raw.reply()
		if err != nil {
			t.Fatal(err)
		}
		if h.Xid == 1 {
			break
		}
		var ev zkwire.WatcherEvent
		if err := zkwire.Decode(body, &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", int32(ev.Type), ev.Path))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events after the changes: %q, want %q", got, want)
	}

	// Closing the connection drops its watches, in batches.
	raw.nc.Close()
	ten := st.Root.Tenant(keys.DefaultTenant)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := store.ReadTransact(t.Context(), st.DB, func(r store.Reader) ([]store.KeyValue, error) {
			return r.GetRange(ten.SessionWatches(resp.SessionID), store.RangeOptions{Limit: 1}).GetSlice()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed connection's watches are still there after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDeleteAllLargeTree: zkCli's deleteall is client-side
// (ZKUtil.deleteRecursive): it lists the tree breadth-first with
// getChildren and deletes it deepest first in multis of 1,000 deletes.
// Each such multi stays well within FoundationDB's limits (time and size
// measured here), and the tree goes entirely.
func TestDeleteAllLargeTree(t *testing.T) { engines.Each(t, testDeleteAllLargeTree) }

func testDeleteAllLargeTree(t *testing.T, e engines.Engine) {
	const fanout, leaves = 10, 1000 // 10,011 nodes
	addr, tree := serveWith(t, e.Open(t, engines.Options{}), Config{}, znode.Options{})
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/tree", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	createMany(t, tree, "/tree", fanout, func(i int) string { return fmt.Sprintf("branch-with-a-longer-name-%03d", i) })
	for i := range fanout {
		createMany(t, tree, fmt.Sprintf("/tree/branch-with-a-longer-name-%03d", i), leaves, func(j int) string { return fmt.Sprintf("leaf-%06d", j) })
	}
	// A watcher on every branch, as applications have.
	for i := range fanout {
		if _, _, _, err := c.ChildrenW(fmt.Sprintf("/tree/branch-with-a-longer-name-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	all := []string{"/tree"}
	for i := 0; i < len(all); i++ {
		kids, _, err := c.Children(all[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			all = append(all, all[i]+"/"+k)
		}
	}
	listed := time.Since(start)
	var slowest time.Duration
	multis := 0
	for end := len(all); end > 0; end -= 1000 {
		var ops []any
		for i := end - 1; i >= max(end-1000, 0); i-- {
			ops = append(ops, &zk.DeleteRequest{Path: all[i], Version: -1})
		}
		t0 := time.Now()
		res, err := c.Multi(ops...)
		if err != nil {
			t.Fatalf("multi of %d deletes: %v", len(ops), err)
		}
		for i, r := range res {
			if r.Error != nil {
				t.Fatalf("delete %d of the multi: %v", i, r.Error)
			}
		}
		slowest = max(slowest, time.Since(t0))
		multis++
	}
	t.Logf("deleteall of %d nodes: listed in %v, deleted by %d multis in %v, the slowest %v", len(all), listed, multis, time.Since(start)-listed, slowest)
	if ok, _, err := c.Exists("/tree"); err != nil || ok {
		t.Fatalf("/tree after deleteall: %v, %v", ok, err)
	}
	if kids, st, err := c.Children("/"); err != nil || slices.Contains(kids, "tree") || st.NumChildren != int32(len(kids)) {
		t.Fatalf("/ after deleteall: %v %+v %v", kids, st, err)
	}
}
