package zkserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
)

// readerPair is a frameReader on one end of a loopback TCP connection and
// the other end to write to.
func readerPair(t *testing.T, limit int) (*frameReader, net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	f := &frameReader{}
	f.init(server, limit, new(atomic.Int64))
	t.Cleanup(f.close)
	return f, server, client
}

// TestFrameReaderKeepsWhatADeadlineCuts: frames written a few bytes at a
// time, with the reader's deadline moved to now between the pieces (as a
// notification does), come out whole and in order; a frame longer than a
// buffer too; the pooled buffer goes back once the reader has taken all.
func TestFrameReaderKeepsWhatADeadlineCuts(t *testing.T) {
	f, server, client := readerPair(t, 0)
	want := [][]byte{
		[]byte("ping-sized"),
		bytes.Repeat([]byte("s"), 200),            // more than the small array
		bytes.Repeat([]byte("b"), 3*readBuffer+5), // more than a buffer
		{},
		[]byte("last"),
	}
	var stream []byte
	for _, p := range want {
		stream = zkwire.AppendFrame(stream, p)
	}
	written := make(chan struct{})
	pieces := make(chan struct{}, len(stream)) // one per piece at most: never blocks
	go func() {
		defer close(written)
		for len(stream) > 0 {
			n := min(len(stream), 7)
			if len(stream) > 2*readBuffer {
				n = min(len(stream), 1000)
			}
			if _, err := client.Write(stream[:n]); err != nil {
				return
			}
			stream = stream[n:]
			pieces <- struct{}{}
		}
	}()
	var got [][]byte
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		b, err := f.frame()
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			got = append(got, b)
			continue
		}
		// Each piece is followed by a deadline in the past: the read
		// under way, or the next, is cut short, and must lose nothing.
		select {
		case <-pieces:
			server.SetReadDeadline(time.Now())
		default:
			server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		}
		if err := f.fill(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
	<-written
	if f.pooled == nil {
		t.Fatal("a reader that read more than its small array holds no buffer")
	}
	f.release()
	if f.pooled != nil {
		t.Error("release kept the buffer of a reader with nothing left to take")
	}
}

// TestFrameReaderIdleReadsNoBuffer: a ping-sized frame is read without a
// pooled buffer; release keeps a buffer that holds part of a frame.
func TestFrameReaderIdleReadsNoBuffer(t *testing.T) {
	f, server, client := readerPair(t, 0)
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	ping := zkwire.AppendFrame(nil, []byte("12345678"))
	if _, err := client.Write(ping); err != nil {
		t.Fatal(err)
	}
	b, err := f.next()
	if err != nil || string(b) != "12345678" {
		t.Fatalf("next = %q, %v", b, err)
	}
	if f.pooled != nil {
		t.Error("a ping took a pooled buffer")
	}
	// Part of a larger frame: the reader moves to a buffer and keeps it.
	big := zkwire.AppendFrame(nil, bytes.Repeat([]byte("x"), 500))
	if _, err := client.Write(big[:100]); err != nil {
		t.Fatal(err)
	}
	for f.w-f.r < 100 {
		if err := f.fill(); err != nil {
			t.Fatal(err)
		}
	}
	f.release()
	if f.pooled == nil {
		t.Fatal("release gave back a buffer holding part of a frame")
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Write(big[100:]); err != nil {
		t.Fatal(err)
	}
	b, err = f.next()
	if err != nil || len(b) != 500 {
		t.Fatalf("next = %d bytes, %v; want 500", len(b), err)
	}
}

// TestFrameReaderRefusesLongFrames: a length over the limit, or negative,
// is zkwire.ErrFrameTooLarge.
func TestFrameReaderRefusesLongFrames(t *testing.T) {
	for _, n := range []int32{1025, -1} {
		f, server, client := readerPair(t, 1024)
		server.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := client.Write(zkwire.AppendInt(nil, n)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.next(); !errors.Is(err, zkwire.ErrFrameTooLarge) {
			t.Errorf("length %d: next = %v, want ErrFrameTooLarge", n, err)
		}
	}
}

// TestIdleConnections: idle connections are parked (park_linux.go): no
// goroutine runs them (on FDB their notify watches still have one each:
// the binding waits for each watch on one) and they hold no read buffer;
// a parked watcher gets its event at once and answers a request longer
// than its small read array; a parked connection silent for its session
// timeout is closed; Shutdown (the test's cleanup) ends them.
func TestIdleConnections(t *testing.T) { engines.Each(t, testIdleConnections) }

func testIdleConnections(t *testing.T, e engines.Engine) {
	const n = 40
	var srv *Server
	parks := make(chan int64, 16*n) // sessions parked; later ones dropped if full
	addr, _ := serveAdjusted(t, e.Open(t, engines.Options{}), func(s *Server) {
		srv = s
		s.testHookParked = func(id int64) {
			select {
			case parks <- id:
			default:
			}
		}
	})
	writer := connect(t, addr)
	before := runtime.NumGoroutine()
	conns := make([]*rawConn, n)
	unparked := map[int64]bool{}
	for i := range conns {
		var resp zkwire.ConnectResponse
		conns[i], resp = dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 10000})
		conns[i].nc.SetDeadline(time.Time{})
		unparked[resp.SessionID] = true
	}
	// One watches /idle (and has read its reply, so its connection
	// waits again).
	w := conns[0]
	w.send(w.request(1, &zkwire.Exists{Path: "/idle", Watch: true}))
	w.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if h, _, err := w.reply(); err != nil || h.Xid != 1 {
		t.Fatalf("exists reply: %+v, %v", h, err)
	}
	// A request longer than the small array takes a buffer.
	long := "/" + strings.Repeat("x", 2*smallRead)
	conns[1].send(conns[1].request(1, &zkwire.Exists{Path: long}))
	conns[1].nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if h, _, err := conns[1].reply(); err != nil || h.Xid != 1 || h.Err != zkwire.CodeNoNode {
		t.Fatalf("exists %d-byte path: %+v, %v; want NONODE", len(long), h, err)
	}
	if srv.readBuffers.Load() == 0 {
		t.Error("a connection that read a long request holds no read buffer")
	}
	// Parked within idleAfter of their last request. The poller's own
	// goroutine is one more.
	each := 0
	if e.Name != engines.Embedded {
		each = 1
	}
	want := each*n + 1 + n/8
	extra := func() int { return runtime.NumGoroutine() - before }
	timeout := time.After(idleAfter + 10*time.Second)
	for len(unparked) > 0 {
		select {
		case id := <-parks:
			delete(unparked, id)
		case <-timeout:
			t.Fatalf("%d of %d idle connections not parked after %v", len(unparked), n, idleAfter+10*time.Second)
		}
	}
	// A parked connection's goroutine returns right after it is told.
	deadline := time.Now().Add(10 * time.Second)
	for extra() > want && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if held := srv.readBuffers.Load(); held != 0 {
		t.Errorf("%d read buffers held by idle connections, want 0", held)
	}
	if x := extra(); x > want {
		t.Errorf("%d idle connections run %d more goroutines; want at most %d", n, x, want)
	}
	// The watcher, parked, gets its event.
	if _, err := writer.Create("/idle", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// Well before its silence timer (10 s) would wake it.
	w.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, body, err := w.reply()
	var ev zkwire.WatcherEvent
	if err != nil || h.Xid != zkwire.XidNotification || zkwire.Decode(body, &ev) != nil ||
		ev.Type != zkwire.EventNodeCreated || ev.Path != "/idle" {
		t.Fatalf("after the create: frame %+v %+v (%v), want NodeCreated /idle", h, ev, err)
	}
	// And answers a request larger than its small array.
	w.send(w.request(2, &zkwire.Exists{Path: long}))
	if h, _, err := w.reply(); err != nil || h.Xid != 2 || h.Err != zkwire.CodeNoNode {
		t.Fatalf("exists %d-byte path: %+v, %v; want NONODE", len(long), h, err)
	}
	// A parked connection silent for its timeout (2 s: parked after 1)
	// is closed.
	quiet, resp := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 2000})
	quiet.nc.SetReadDeadline(time.Now().Add(time.Duration(resp.TimeOut)*time.Millisecond + 10*time.Second))
	if _, _, err := quiet.reply(); !errors.Is(err, io.EOF) {
		t.Fatalf("a silent connection: read %v, want EOF (closed by the server)", err)
	}
}
