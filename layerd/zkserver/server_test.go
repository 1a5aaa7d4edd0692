package zkserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/layerd/fourletter"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/keys"
	"zkfdb/shared/znode"
)

// startServer serves a fresh tree on a fresh store of e on a loopback
// port; it stops with the test.
func startServer(t *testing.T, e engines.Engine) (string, *prometheus.Registry) {
	t.Helper()
	return serveOn(t, e.Open(t, engines.Options{}))
}

// serveOn starts one more server on st, as another layerd on the same
// store would be; it stops with the test (before the store closes).
func serveOn(t *testing.T, st engines.Store) (string, *prometheus.Registry) {
	t.Helper()
	return serveAdjusted(t, st, func(*Server) {})
}

// serveAdjusted is serveOn with the server adjusted before it serves.
func serveAdjusted(t *testing.T, st engines.Store, adjust func(*Server)) (string, *prometheus.Registry) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, st, adjust, ln)
}

// serveListener is serveAdjusted on the listener ln.
func serveListener(t *testing.T, st engines.Store, adjust func(*Server), ln net.Listener) (string, *prometheus.Registry) {
	t.Helper()
	tree := znode.New(st.DB, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv := New(zaptest.NewLogger(t), reg, tree, Config{TickTime: 500 * time.Millisecond, MaxBuffer: 1 << 16})
	adjust(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return ln.Addr().String(), reg
}

// Two layerds on one store: a write through one is read through the
// other, and a session made on one resumes on the other with its
// ephemerals.
func TestTwoServersOneStore(t *testing.T) { engines.Each(t, testTwoServersOneStore) }

func testTwoServersOneStore(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addrA, _ := serveOn(t, st)
	addrB, _ := serveOn(t, st)

	a := connect(t, addrA)
	if _, err := a.Create("/shared", []byte("from A"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	b := connect(t, addrB)
	if data, _, err := b.Get("/shared"); err != nil || string(data) != "from A" {
		t.Fatalf("read through B: %q, %v", data, err)
	}

	onA, resp := dialRaw(t, addrA, zkwire.ConnectRequest{})
	onA.send(onA.request(1, &zkwire.Create{Path: "/mine", Flags: 1, ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}}))
	if h, _, err := onA.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("ephemeral on A: %+v, %v", h, err)
	}
	onA.nc.Close() // A's connection is gone; the session is not
	onB, resp2 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd})
	if resp2.SessionID != resp.SessionID {
		t.Fatalf("resume on B: %+v", resp2)
	}
	onB.send(onB.request(1, &zkwire.GetEphemerals{PrefixPath: "/"}))
	_, body, err := onB.reply()
	var eph zkwire.GetEphemeralsResponse
	if err != nil || zkwire.Decode(body, &eph) != nil || !slices.Equal(eph.Ephemerals, []string{"/mine"}) {
		t.Fatalf("the session's ephemerals through B: %+v, %v", eph, err)
	}
	onB.send(onB.request(2, &zkwire.CloseSession{}))
	if h, _, err := onB.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("close through B: %+v, %v", h, err)
	}
	if ok, _, err := a.Exists("/mine"); err != nil || ok {
		t.Fatalf("ephemeral after its session closed on B, seen through A: %v, %v", ok, err)
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(quietLogger{}))
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

// An unmodified client (go-zookeeper) uses every basic operation.
func TestGoZookeeperClient(t *testing.T) { engines.Each(t, testGoZookeeperClient) }

func testGoZookeeperClient(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	c := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	if p, err := c.Create("/app", []byte("v1"), 0, acl); err != nil || p != "/app" {
		t.Fatalf("create = %q, %v", p, err)
	}
	data, st, err := c.Get("/app")
	if err != nil || string(data) != "v1" || st.Version != 0 || st.Czxid != st.Mzxid {
		t.Fatalf("get = %q %+v %v", data, st, err)
	}
	st2, err := c.Set("/app", []byte("v2"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid <= st.Mzxid {
		t.Fatalf("set = %+v, %v", st2, err)
	}
	if _, err := c.Set("/app", []byte("v3"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set with a stale version = %v, want ErrBadVersion", err)
	}
	seq, err := c.Create("/app/job-", nil, zk.FlagSequence, acl)
	if err != nil || seq != "/app/job-0000000000" {
		t.Fatalf("sequential create = %q, %v", seq, err)
	}
	if _, err := c.Create("/app/eph", nil, zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	kids, st3, err := c.Children("/app")
	slices.Sort(kids)
	if err != nil || !slices.Equal(kids, []string{"eph", "job-0000000000"}) || st3.NumChildren != 2 || st3.Cversion != 2 {
		t.Fatalf("children = %v %+v %v", kids, st3, err)
	}
	ok, _, err := c.Exists("/nope")
	if err != nil || ok {
		t.Fatalf("exists(/nope) = %v, %v", ok, err)
	}
	if err := c.Delete("/app", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty = %v", err)
	}
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("x"), Acl: acl},
		&zk.SetDataRequest{Path: "/m", Data: []byte("y"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
	)
	if err != nil || len(res) != 3 || res[0].String != "/m" {
		t.Fatalf("multi = %+v, %v", res, err)
	}
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m2", Acl: acl},
		&zk.DeleteRequest{Path: "/none", Version: -1},
	)
	if !errors.Is(err, zk.ErrNoNode) || !errors.Is(res[1].Error, zk.ErrNoNode) {
		t.Fatalf("failed multi = %+v, %v", res, err)
	}
	if ok, _, _ := c.Exists("/m2"); ok {
		t.Fatal("a failed multi applied its create")
	}
	if err := c.AddAuth("digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/private", nil, 0, zk.DigestACL(zk.PermAll, "alice", "pw")); err != nil {
		t.Fatal(err)
	}
	other := connect(t, addr)
	if _, _, err := other.Get("/private"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("get without auth = %v, want ErrNoAuth", err)
	}
	if _, err := c.Sync("/app"); err != nil {
		t.Fatal(err)
	}
	// The ephemeral goes with its session.
	sid := c.SessionID()
	c.Close()
	if ok, _, err := other.Exists("/app/eph"); err != nil || ok {
		t.Fatalf("ephemeral of closed session %#x: exists=%v, %v", sid, ok, err)
	}
}

// rawConn is a hand-driven client: frames in, frames out.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string, req zkwire.ConnectRequest) (*rawConn, zkwire.ConnectResponse) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := &rawConn{t: t, nc: nc}
	if req.TimeOut == 0 {
		req.TimeOut = 5000
	}
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	r.send(zkwire.AppendFramed(nil, &req))
	frame, err := zkwire.ReadFrame(nc, 0)
	if err != nil {
		t.Fatalf("connect response: %v", err)
	}
	resp, err := zkwire.DecodeConnectResponse(frame)
	if err != nil {
		t.Fatal(err)
	}
	return r, resp
}

func (r *rawConn) send(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) request(xid int32, body zkwire.Request) []byte {
	return zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: xid, Type: body.Opcode()}, body)
}

func (r *rawConn) reply() (zkwire.ReplyHeader, []byte, error) {
	frame, err := zkwire.ReadFrame(r.nc, 0)
	if err != nil {
		return zkwire.ReplyHeader{}, nil, err
	}
	return zkwire.DecodeReplyHeader(frame)
}

// replyNotPing is reply, passing over the replies of pings.
func (r *rawConn) replyNotPing() (zkwire.ReplyHeader, []byte, error) {
	for {
		h, body, err := r.reply()
		if err != nil || h.Xid != zkwire.XidPing {
			return h, body, err
		}
	}
}

// Pipelined requests are answered in the order they were sent.
func TestPipelinedRequestsInOrder(t *testing.T) { engines.Each(t, testPipelinedRequestsInOrder) }

func testPipelinedRequestsInOrder(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	r, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	var batch []byte
	for xid := int32(1); xid <= 60; xid++ {
		var req zkwire.Request = &zkwire.Create{Path: "/p" + string(rune('A'+xid%26)) + string(rune('a'+xid/26)), ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}}
		if xid%3 == 0 {
			req = &zkwire.Exists{Path: "/"}
		}
		batch = append(batch, r.request(xid, req)...)
	}
	r.send(batch)
	for want := int32(1); want <= 60; want++ {
		h, _, err := r.reply()
		if err != nil {
			t.Fatal(err)
		}
		if h.Xid != want || h.Err != zkwire.CodeOK {
			t.Fatalf("reply %d: xid %d err %v", want, h.Xid, h.Err)
		}
	}
}

// An unknown opcode gets UNIMPLEMENTED with zxid −1, then the connection
// closes; a frame over jute.maxbuffer closes its connection; neither
// touches another connection.
func TestBadInputClosesOnlyItsConnection(t *testing.T) {
	engines.Each(t, testBadInputClosesOnlyItsConnection)
}

func testBadInputClosesOnlyItsConnection(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	healthy, _ := dialRaw(t, addr, zkwire.ConnectRequest{})

	r, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	r.send(zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: 7, Type: 999}, nil))
	h, _, err := r.reply()
	if err != nil || h.Xid != 7 || h.Zxid != -1 || h.Err != zkwire.CodeUnimplemented {
		t.Fatalf("unknown opcode: %+v, %v", h, err)
	}
	if _, _, err := r.reply(); !errors.Is(err, io.EOF) {
		t.Fatalf("after UNIMPLEMENTED: %v, want the connection closed", err)
	}

	big, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	big.send([]byte{0x7f, 0, 0, 0}) // a 2 GB frame length
	if _, _, err := big.reply(); err == nil {
		t.Fatal("a frame over jute.maxbuffer was answered")
	}

	garbage, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	garbage.send(zkwire.AppendFrame(nil, []byte{0, 0, 0, 1, 0, 0, 0, 4, 0xff, 0xff})) // getData with a truncated path
	if h, _, err := garbage.reply(); err != nil || h.Err != zkwire.CodeMarshallingError {
		t.Fatalf("malformed body: %+v, %v; want MARSHALLINGERROR", h, err)
	}

	healthy.send(healthy.request(1, &zkwire.GetData{Path: "/zookeeper/config"}))
	if h, _, err := healthy.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("the healthy connection: %+v, %v", h, err)
	}
}

// A session resumes on a new connection with its id and password; a wrong
// password or unknown id gets the refusal clients read as expiry.
func TestSessionResume(t *testing.T) { engines.Each(t, testSessionResume) }

func testSessionResume(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	first, resp := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 100_000})
	if resp.SessionID == 0 || len(resp.Passwd) != 16 || resp.TimeOut != 10_000 {
		t.Fatalf("connect response %+v; want a session, timeout clamped to 20 ticks (10 s)", resp)
	}
	first.send(first.request(1, &zkwire.Create{Path: "/e", Flags: 1, ACL: []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}}))
	if h, _, err := first.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("create ephemeral: %+v, %v", h, err)
	}
	first.nc.Close()

	again, resp2 := dialRaw(t, addr, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd, TimeOut: 100})
	if resp2.SessionID != resp.SessionID || !bytes.Equal(resp2.Passwd, resp.Passwd) || resp2.TimeOut != 1000 {
		t.Fatalf("resume: %+v; want the same session, timeout clamped to 2 ticks", resp2)
	}
	again.send(again.request(1, &zkwire.GetEphemerals{PrefixPath: "/"}))
	_, body, err := again.reply()
	var eph zkwire.GetEphemeralsResponse
	if err != nil || zkwire.Decode(body, &eph) != nil || !slices.Equal(eph.Ephemerals, []string{"/e"}) {
		t.Fatalf("ephemerals after resume: %+v, %v", eph, err)
	}

	wrong := slices.Clone(resp.Passwd)
	wrong[0]++
	refused, resp3 := dialRaw(t, addr, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: wrong})
	if resp3.TimeOut != 0 || resp3.SessionID != 0 {
		t.Fatalf("wrong password: %+v, want the expired answer", resp3)
	}
	if _, _, err := refused.reply(); !errors.Is(err, io.EOF) {
		t.Fatalf("after refusal: %v, want closed", err)
	}
	// A 3.3-era client without the readOnly byte gets a 36-byte answer.
	old, resp4 := dialRaw(t, addr, zkwire.ConnectRequest{OmitReadOnly: true})
	if !resp4.OmitReadOnly || resp4.SessionID == 0 {
		t.Fatalf("connect without readOnly: %+v", resp4)
	}
	old.send(old.request(zkwire.XidPing, &zkwire.Ping{}))
	if h, _, err := old.reply(); err != nil || h.Xid != zkwire.XidPing {
		t.Fatalf("ping: %+v, %v", h, err)
	}
}

// A client that stops reading stalls only itself.
func TestStuckClientStallsNobody(t *testing.T) { engines.Each(t, testStuckClientStallsNobody) }

func testStuckClientStallsNobody(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	setup := connect(t, addr)
	if _, err := setup.Create("/big", bytes.Repeat([]byte("x"), 60_000), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	stuck, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	var flood []byte
	for xid := int32(1); xid <= 200; xid++ {
		flood = append(flood, stuck.request(xid, &zkwire.GetData{Path: "/big"})...)
	}
	go stuck.nc.Write(flood) // never reads the 12 MB of replies

	c := connect(t, addr)
	for i := range 20 {
		if _, _, err := c.Get("/big"); err != nil {
			t.Fatalf("get %d while another client is stuck: %v", i, err)
		}
	}
}

func TestFourLetterWord(t *testing.T) { engines.Each(t, testFourLetterWord) }

func testFourLetterWord(t *testing.T, e engines.Engine) {
	addr, _ := startServer(t, e)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("ruok"))
	got, err := io.ReadAll(nc)
	if err != nil || string(got) != "imok" {
		t.Fatalf("ruok = %q, %v", got, err)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	srv := New(zaptest.NewLogger(t), nil, nil, Config{})
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on the listener Serve refused = %v, want net.ErrClosed", err)
	}
}

func TestServeListenerError(t *testing.T) {
	srv := New(zaptest.NewLogger(t), nil, nil, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // closed by someone else, not by Shutdown
	if err := srv.Serve(ln); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a closed listener = %v, want the accept error", err)
	}
}

// gtmk shows ZooKeeper's default mask until stmk sets another, from the
// 8 bytes after the word; stmk without all of them closes the
// connection unanswered and sets nothing, as ZooKeeper does.
func TestTraceMaskWords(t *testing.T) {
	addr, _ := serveAdjusted(t, engines.EmbeddedEngine().Open(t, engines.Options{}), func(s *Server) {
		s.whitelist, _ = fourletter.ParseWhitelist("*")
	})
	ask := func(msg []byte) string {
		t.Helper()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(msg)
		got, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("%q: %v", msg, err)
		}
		return string(got)
	}
	stmk := func(mask uint64, n int) []byte {
		b := binary.BigEndian.AppendUint64([]byte("stmk"), mask)
		return b[:4+n]
	}
	for _, step := range []struct {
		msg  []byte
		want string
	}{
		{[]byte("gtmk"), "306"},
		{stmk(0x1234, 8), "4660"},
		{[]byte("gtmk"), "4660"},
		{stmk(0x99, 4), ""},
		{[]byte("gtmk"), "4660"},
		{stmk(math.MaxUint64, 8), "-1"},
		{[]byte("gtmk"), "-1"},
		{[]byte("hash"), ""},
	} {
		if got := ask(step.msg); got != step.want {
			t.Errorf("%q = %q, want %q", step.msg, got, step.want)
		}
	}
}
