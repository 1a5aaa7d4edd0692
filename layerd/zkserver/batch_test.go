package zkserver

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
)

// recordingListener hands out connections that record each Write.
type recordingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*recordingConn
}

func (l *recordingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recordingConn{Conn: nc}
	l.mu.Lock()
	l.conns = append(l.conns, rc)
	l.mu.Unlock()
	return rc, nil
}

type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(b))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// taken returns the writes so far and forgets them.
func (c *recordingConn) taken() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writes
	c.writes = nil
	return w
}

// replyXids splits one write into reply frames and returns their xids.
func replyXids(t *testing.T, b []byte) []int32 {
	t.Helper()
	var xids []int32
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("a write ends inside a frame: %x", b)
		}
		n := int(binary.BigEndian.Uint32(b))
		xids = append(xids, int32(binary.BigEndian.Uint32(b[4:])))
		b = b[4+n:]
	}
	return xids
}

// Pipelined reads of one connection are answered in order, several in one
// write; a write's reply is never held back for a later request's, and
// leaves in a write of its own, after the replies before it.
func TestPipelinedReadsBatchReplies(t *testing.T) { engines.Each(t, testPipelinedReadsBatchReplies) }

func testPipelinedReadsBatchReplies(t *testing.T, e engines.Engine) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &recordingListener{Listener: ln}
	addr, _ := serveListener(t, e.Open(t, engines.Options{}), func(*Server) {}, rl)
	r, _ := dialRaw(t, addr, zkwire.ConnectRequest{})
	rl.mu.Lock()
	sc := rl.conns[0]
	rl.mu.Unlock()
	sc.taken() // the handshake's

	const reads = 20
	const setXid = reads + 1
	var batch []byte
	for xid := int32(1); xid <= 2*reads+1; xid++ {
		var req zkwire.Request = &zkwire.GetData{Path: "/"}
		if xid == setXid {
			req = &zkwire.SetData{Path: "/", Data: []byte("x"), Version: -1}
		}
		batch = append(batch, r.request(xid, req)...)
	}
	r.send(batch)
	for want := int32(1); want <= 2*reads+1; want++ {
		h, _, err := r.reply()
		if err != nil {
			t.Fatal(err)
		}
		if h.Xid != want || h.Err != zkwire.CodeOK {
			t.Fatalf("reply %d: xid %d err %v", want, h.Xid, h.Err)
		}
	}
	writes := sc.taken()
	var order []int32
	for _, w := range writes {
		xids := replyXids(t, w)
		for _, x := range xids {
			if x == setXid && len(xids) != 1 {
				t.Errorf("the setData's reply shares a write with %v", xids)
			}
		}
		order = append(order, xids...)
	}
	if len(order) != 2*reads+1 {
		t.Fatalf("%d replies written, want %d", len(order), 2*reads+1)
	}
	// 16 frames read ahead: the 40 reads' replies need 4 writes at
	// least; one each would be 40.
	if len(writes) > 2*reads/4 {
		t.Errorf("%d replies took %d writes; want pipelined reads' replies batched", len(order), len(writes))
	}
	t.Logf("%d replies in %d writes", len(order), len(writes))
}

func TestBatched(t *testing.T) {
	body := func(r zkwire.Request) []byte {
		b := zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: 1, Type: r.Opcode()}, r)
		_, rest, err := zkwire.DecodeRequestHeader(b[4:])
		if err != nil {
			t.Fatal(err)
		}
		return rest
	}
	for _, c := range []struct {
		req  zkwire.Request
		want bool
	}{
		{&zkwire.GetData{Path: "/a"}, true},
		{&zkwire.GetData{Path: "/a", Watch: true}, false},
		{&zkwire.Exists{Path: "/a/b"}, true},
		{&zkwire.Exists{Path: "/a/b", Watch: true}, false},
		{&zkwire.GetChildren2{Path: "/"}, true},
		{&zkwire.GetChildren2{Path: "/", Watch: true}, false},
		{&zkwire.SetData{Path: "/a"}, false},
		{&zkwire.Create{Path: "/a"}, false},
		{&zkwire.Delete{Path: "/a"}, false},
	} {
		if got := batched(c.req.Opcode(), body(c.req)); got != c.want {
			t.Errorf("batched(%T %+v) = %v, want %v", c.req, c.req, got, c.want)
		}
	}
	if batched(zkwire.OpGetData, []byte{0, 0, 0, 9, 'x'}) {
		t.Error("a truncated getData is batched")
	}
}
