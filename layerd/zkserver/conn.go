package zkserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"zkfdb/layerd/zkwire"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// handshakeTimeout bounds the wait for a new connection's ConnectRequest
// (ZooKeeper gives 10 s).
const handshakeTimeout = 10 * time.Second

// conn is one client connection. Its goroutine reads a request, executes
// it and writes the reply before reading the next, so replies follow
// requests in order (pipelined requests wait in the socket buffer), and
// between requests it waits for the session's events too (await).
type conn struct {
	s  *Server
	nc net.Conn
	in frameReader

	session znode.Session
	timeout time.Duration
	auth    znode.Auth
	// lastZxid is the largest zxid this connection has replied with: error
	// replies of reads carry it.
	lastZxid int64
	// xid is the request being executed's, for replies made far from it.
	xid int32
	// rvs collects the read versions of the request's transactions.
	rvs store.ReadVersions
	// req is the request context (ctx), its deadline and cancel, and
	// opCtxOf the context made from it for op opCtxOp (opCtx): the last
	// op's only, since an idle connection keeps it.
	req         context.Context
	reqDeadline time.Time
	reqCancel   context.CancelFunc
	opCtxOp     string
	opCtxOf     context.Context

	tokenBase [8]byte // with tokenSeq, a request's znode.Caller.Token
	tokenSeq  uint64

	closeOnce sync.Once
	// onEnd is what the server does once the connection ends (end).
	onEnd func()
	// attached: the session is tracked (attach), its notify key watched.
	attached bool
	// The wait for the next request (await): since when, for the silence
	// timeout and idleAfter, and whether it is idle yet.
	waiting          bool
	silentAt, idleAt time.Time
	idle             bool
	// Parking (park): parked while no goroutine runs the connection;
	// woken once a wake came; fd is its socket's registration with the
	// poller (-1: none); parkTimer ends a parked wait at silentAt.
	parked    atomic.Bool
	woken     atomic.Bool
	fd        int32
	parkTimer *time.Timer
	out       []byte // replies and events not yet written
	// hold: what the request being run writes stays in out, for one
	// write with the next request's reply, if the next request is already
	// read (loop).
	hold bool

	// Watches (watch.go): wconn names this connection to the store; once
	// it has set a watch, watching is true, events are delivered before
	// every reply, and notify fires when more are logged.
	wconn    znode.Conn
	watching bool
	cursor   keys.Versionstamp
	notify   store.Watch
	// notified is set when notify fires (watchNotify), for await;
	// notifyGen tells a notify watch's function whether it is still the
	// connection's.
	notified  atomic.Bool
	notifyGen atomic.Uint64
	// delivered counts the events sent since the session's log was last
	// cleared up to the cursor (armNotify).
	delivered int
	// closed: the session was closed, its watches with it.
	closed bool

	stats connStats // what cons shows (fourletter.go)
}

// readBuffer is the size of a busy connection's read buffer (an idle
// one holds none: frameReader). At 64 KiB, held for the connection's
// life, it was nine tenths of what a held session cost layerd
// (scripts/bench-sessions). 4 KiB holds many small pipelined requests; a
// frame larger than that is read into its own slice directly.
const readBuffer = 4 << 10

// idleAfter is how long a connection waits for a request before it gives
// back its read buffer and request context and is parked (await).
const idleAfter = time.Second

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, fd: -1}
	c.in.init(nc, s.cfg.MaxBuffer, &s.readBuffers)
	c.stats.established, c.stats.lastOp = time.Now(), "NA"
	rand.Read(c.tokenBase[:])
	return c
}

// log returns the connection's logger. It is made for each message, not
// kept: a logger with fields was a tenth of a held session's memory, and
// a connection logs seldom.
func (c *conn) log() *zap.Logger {
	l := c.s.log.With(zap.Stringer("remote", c.nc.RemoteAddr()))
	if id := c.session.ID; id != 0 {
		l = l.With(zap.String("session", fmt.Sprintf("0x%x", id))) // ZooKeeper's form
	}
	return l
}

// close closes the connection's socket, out of the poller's set first,
// and wakes it if parked, so that it ends.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		// Only a server that has parked a connection has a poller.
		if p := c.s.idlePoller.Load(); p != nil {
			p.forget(c)
		}
		c.nc.Close()
	})
	c.wake()
}

// reqCtxReuse is how long one request context serves (ctx): made with a
// deadline of the session timeout plus this, it is handed to requests
// while at least the timeout is left of it. A request stuck in the store
// fails at most this much after its session timeout (a client waiting
// for it gives up after two thirds of the timeout anyway).
const reqCtxReuse = 50 * time.Millisecond

// ctx bounds a request's store work to at least the session timeout from
// its start: a client that gave up after its session timeout has
// reconnected elsewhere. One context serves the requests of reqCtxReuse:
// a context with a timer of its own per request was 7 % of a getData's
// CPU. Called on serve's goroutine only.
func (c *conn) ctx() context.Context {
	d := c.timeout
	if d == 0 {
		d = handshakeTimeout
	}
	now := time.Now()
	if c.req == nil || now.Add(d).After(c.reqDeadline) || c.req.Err() != nil {
		c.endReqCtx()
		c.reqDeadline = now.Add(d + reqCtxReuse)
		c.req, c.reqCancel = context.WithDeadline(c.s.base, c.reqDeadline)
	}
	return c.req
}

// endReqCtx cancels the request context, and the ones made from it.
func (c *conn) endReqCtx() {
	if c.reqCancel != nil {
		c.reqCancel()
	}
	c.req, c.reqCancel = nil, nil
	c.opCtxOp, c.opCtxOf = "", nil
}

// opCtx is ctx charging its store work to op (shared/store/metered) and
// collecting its transactions' read versions for the request's touch
// (heartbeat.go); kept for the next request of the same op.
func (c *conn) opCtx(op string) context.Context {
	parent := c.ctx()
	if c.opCtxOf == nil || c.opCtxOp != op {
		c.opCtxOp, c.opCtxOf = op, c.forOp(parent, op)
	}
	return c.opCtxOf
}

// forOp is parent charging its store work to op and collecting its read
// versions (opCtx).
func (c *conn) forOp(parent context.Context, op string) context.Context {
	return store.WithReadVersions(metered.WithOp(parent, op), &c.rvs)
}

// serve runs the connection, from its first bytes, until it ends or
// parks (run); then end, or a wake, takes over.
func (c *conn) serve() {
	if c.open() {
		c.run()
		return
	}
	c.end()
}

// open reads the connection's first request and answers it: a
// four-letter word, or a ConnectRequest. true: the session's requests
// follow.
func (c *conn) open() bool {
	c.nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if word, ok := c.fourLetterWord(); ok {
		c.answerFourLetterWord(word)
		return false
	}
	frame, err := c.in.next()
	if err != nil {
		c.readFailed(err)
		return false
	}
	c.packet(true)
	req, err := zkwire.DecodeConnectRequest(frame)
	if err != nil {
		c.log().Info("bad connect request; closing", zap.Error(err))
		return false
	}
	if !c.handshake(req) {
		return false
	}
	c.s.attach(c)
	c.attached = true
	return c.armNotify()
}

// run serves the connection's requests until it ends (then end) or
// parks (then a wake runs it again, on a goroutine of its own).
func (c *conn) run() {
	if !c.loop() {
		c.end()
	}
}

// end lets the connection go: the replies held for a batch still go
// out, its watches are dropped, and the server forgets it (onEnd).
func (c *conn) end() {
	if c.attached {
		c.flush()
		c.dropWatches()
		c.s.detach(c)
	}
	c.in.close()
	c.endReqCtx()
	if c.onEnd != nil {
		c.onEnd()
	}
}

// loop runs requests until the connection ends (false) or parks
// (true).
func (c *conn) loop() bool {
	var next request // read and decoded, not yet run
	haveNext := false
	for {
		req := next
		if !haveNext {
			frame, st := c.await()
			switch st {
			case awaitEnd:
				return false
			case awaitParked:
				if h := c.s.testHookParked; h != nil {
					h(c.session.ID)
				}
				return true
			}
			req = decodeRequest(frame)
		}
		haveNext = false
		if req.err != nil {
			c.log().Info("malformed request header; closing", zap.Error(req.err))
			return false
		}
		hdr, body := req.hdr, req.body
		start := time.Now()
		c.packet(true)
		c.rvs.Reset() // the request's transactions, for its touch (reply)
		c.xid = hdr.Xid
		// A read's reply waits in c.out while the client's next request
		// is already here and is a read too: their replies leave in one
		// write (a system call per reply was a third of getData's CPU
		// with 4 requests in flight per connection). A reply never waits
		// for a write's commit, nor for a request not yet received.
		c.hold = batched(hdr.Type, body)
		c.s.outstanding.Add(1)
		goOn := c.dispatch(hdr, body)
		c.s.outstanding.Add(-1)
		if !goOn {
			return false
		}
		took := time.Since(start)
		c.s.metrics.latency.Observe(took.Seconds())
		c.recordRequest(hdr.Type, hdr.Xid, start, took)
		if c.hold {
			c.hold = false
			// A bad frame is left for await to report.
			if f, err := c.in.frame(); err == nil && f != nil {
				next, haveNext = decodeRequest(f), true
				if next.err == nil && batched(next.hdr.Type, next.body) {
					continue
				}
			}
		}
		if !c.flush() {
			return false
		}
	}
}

// awaitResult is how await ended.
type awaitResult int

const (
	awaitFrame  awaitResult = iota // a request frame
	awaitEnd                       // the connection ends
	awaitParked                    // the connection is parked (park)
)

// await returns the next request frame: one read already, or the next to
// come. While it waits it serves the session's notify key (armNotify),
// and it closes a connection silent for its session timeout, as
// ZooKeeper does (clients ping at a third of it). After idleAfter it
// gives back what an idle connection need not hold, and parks it.
//
// It is the connection's only reader: a second goroutine per connection
// that read ahead, and a third waiting for events, were most of what an
// idle session cost layerd (scripts/bench-sessions).
func (c *conn) await() ([]byte, awaitResult) {
	if !c.waiting {
		now := time.Now()
		c.waiting = true
		c.silentAt = now.Add(c.timeout)
		c.idleAt = now.Add(idleAfter)
		c.idle = false
	}
	for {
		f, err := c.in.frame()
		if err != nil {
			c.readFailed(err)
			return nil, awaitEnd
		}
		if f != nil {
			c.waiting = false
			return f, awaitFrame
		}
		deadline := c.silentAt
		if !c.idle && c.idleAt.Before(deadline) {
			deadline = c.idleAt
		}
		// The deadline before the flag: a notification after this check
		// moves the deadline to now (watchNotify); one before it is seen
		// here.
		c.nc.SetReadDeadline(deadline)
		if c.notified.Swap(false) {
			if !c.armNotify() {
				return nil, awaitEnd
			}
			continue
		}
		err = c.in.fill()
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			c.readFailed(err)
			return nil, awaitEnd
		}
		now := time.Now()
		if !now.Before(c.silentAt) {
			c.readFailed(err)
			return nil, awaitEnd
		}
		if !c.idle && !now.Before(c.idleAt) {
			c.idle = true
			c.in.release()
			c.endReqCtx()
			if c.park() {
				return nil, awaitParked
			}
		}
	}
}

// park hands an idle connection to the server's poller (park_linux.go):
// true, and its goroutine ends; a wake starts another. false: it goes on
// waiting on its goroutine (no poller here, something left to read or
// write, or woken already).
func (c *conn) park() bool {
	p := c.s.poller()
	if p == nil || !c.in.empty() || len(c.out) > 0 {
		return false
	}
	c.woken.Store(false)
	if !p.park(c) {
		return false
	}
	c.parkTimer = time.AfterFunc(time.Until(c.silentAt), c.wake)
	c.parked.Store(true)
	// A wake between the registration and now found it not parked yet.
	if c.woken.Load() && c.parked.CompareAndSwap(true, false) {
		c.parkTimer.Stop()
		c.resumed()
		return false
	}
	return true
}

// wake runs a parked connection again, on a goroutine of its own; one
// being parked sees it (park). Its socket readable or closed, its notify
// watch fired, or its silence timer ended.
func (c *conn) wake() {
	c.woken.Store(true)
	if c.parked.CompareAndSwap(true, false) {
		c.parkTimer.Stop()
		go func() {
			c.resumed()
			c.run()
		}()
	}
}

// resumed readies a woken connection to read what woke it, and to wait
// idleAfter again before it parks.
func (c *conn) resumed() {
	c.idle = false
	c.idleAt = time.Now().Add(idleAfter)
}

// request is a request frame split into its header and body, or the
// error that says why it cannot be.
type request struct {
	hdr  zkwire.RequestHeader
	body []byte
	err  error
}

func decodeRequest(frame []byte) request {
	hdr, body, err := zkwire.DecodeRequestHeader(frame)
	return request{hdr, body, err}
}

// batched reports whether the reply to a request (op, body) may wait
// for the next request's, to leave in one write: reads that answer from
// the store at once. A read that sets a watch commits its registration
// first, and is not batched.
func batched(op zkwire.OpCode, body []byte) bool {
	switch op {
	case zkwire.OpGetData, zkwire.OpExists, zkwire.OpGetChildren, zkwire.OpGetChildren2:
		// The body is the path (a length-prefixed string), then the
		// watch flag.
		if len(body) < 4 {
			return false
		}
		n := int64(int32(binary.BigEndian.Uint32(body)))
		if n < 0 {
			n = 0
		}
		return int64(len(body)) > 4+n && body[4+n] == 0
	case zkwire.OpGetACL, zkwire.OpMultiRead, zkwire.OpGetAllChildrenNumber,
		zkwire.OpGetEphemerals, zkwire.OpPing, zkwire.OpWhoAmI:
		return true
	}
	return false
}

func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, zkwire.ErrFrameTooLarge):
		c.log().Warn("frame over jute.maxbuffer; closing", zap.Error(err), zap.Int("max_buffer", c.s.cfg.MaxBuffer))
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		c.log().Debug("read failed; closing", zap.Error(err))
	}
}

// handshake answers the ConnectRequest: a new session, a resumed one, or
// the refusal clients read as expiry. It reports whether to go on.
func (c *conn) handshake(req zkwire.ConnectRequest) bool {
	timeout := time.Duration(req.TimeOut) * time.Millisecond
	timeout = min(max(timeout, c.s.cfg.MinSessionTimeout), c.s.cfg.MaxSessionTimeout)
	c.timeout = timeout
	// Exactly the timeout, not a shared request context's: a client whose
	// requests wait while it reconnects has them failed by the end of
	// this handshake, and counts on the timeout for it (TestOutage).
	hctx, cancel := context.WithTimeout(c.s.base, timeout)
	defer cancel()
	ctx := c.forOp(hctx, "connect")
	if req.SessionID != 0 || req.LastZxidSeen != 0 {
		// Checked before the session is touched. A fresh client has seen
		// nothing: its connect costs only the session's create, whose
		// read version gives the connection its zxid.
		latest, err := c.s.tree.Sync(ctx)
		if err != nil {
			c.log().Error("connect: store unavailable", zap.Error(err))
			return false
		}
		if req.LastZxidSeen > latest {
			// The client has seen a newer state than ours: ZooKeeper
			// closes without a response, and the client tries another
			// server.
			c.log().Info("client is ahead of this server; closing", zap.Int64("last_zxid_seen", req.LastZxidSeen), zap.Int64("zxid", latest))
			return false
		}
		c.lastZxid = latest
	}
	ms := int32(timeout / time.Millisecond)
	var s znode.Session
	var err error
	id := connID()
	if req.SessionID == 0 {
		s, err = c.s.tree.CreateSessionOn(ctx, ms, id)
	} else {
		s, err = c.s.tree.ResumeSessionOn(ctx, req.SessionID, req.Passwd, ms, id)
	}
	if errors.Is(err, znode.ErrSessionExpired) {
		c.write(&zkwire.ConnectResponse{Passwd: make([]byte, 16), OmitReadOnly: req.OmitReadOnly})
		c.log().Info("connect refused: session expired or unknown", zap.String("session", fmt.Sprintf("0x%x", req.SessionID)))
		return false
	}
	if err != nil {
		c.log().Error("connect: session failed", zap.Error(err))
		return false
	}
	c.session = s
	c.lastZxid = max(c.lastZxid, s.Zxid)
	c.stats.mu.Lock()
	c.wconn = znode.Conn{Session: s.ID, ID: id}
	c.stats.timeout, c.stats.wconn = timeout, c.wconn
	c.stats.mu.Unlock()
	c.auth = znode.Auth{IDs: []znode.ID{{Scheme: "ip", ID: remoteIP(c.nc.RemoteAddr())}}}
	// Once per connection that gets a session, as ZooKeeper logs
	// "Established session": new, or resumed here (moved from another
	// layerd or reconnected to this one).
	if req.SessionID == 0 {
		c.log().Info("session created", zap.Duration("timeout", timeout))
	} else {
		c.log().Info("session resumed", zap.Duration("timeout", timeout))
	}
	return c.write(&zkwire.ConnectResponse{
		TimeOut:      ms,
		SessionID:    s.ID,
		Passwd:       s.Password[:],
		OmitReadOnly: req.OmitReadOnly,
	})
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// caller returns the znode.Caller of one request.
func (c *conn) caller() znode.Caller {
	c.tokenSeq++
	var tok [16]byte
	copy(tok[:8], c.tokenBase[:])
	binary.BigEndian.PutUint64(tok[8:], c.tokenSeq)
	return znode.Caller{Session: c.session.ID, Auth: c.auth, Now: time.Now().UnixMilli(), Token: tok, Conn: c.wconn.ID}
}

// write sends one frame holding rec. A client that does not read for its
// session timeout is closed.
func (c *conn) write(rec zkwire.Record) bool {
	c.out = zkwire.AppendFramed(c.out, rec)
	c.packet(false)
	return c.flush()
}

// reply sends a reply frame, after the watch events the client must see
// before it: those logged at or before the state the reply shows (zxid).
// While c.hold and another request waits, it stays in c.out for serve
// to write with the next reply.
func (c *conn) reply(xid int32, zxid int64, code zkwire.Code, body zkwire.Record) bool {
	if c.watching && zxid > 0 && !c.deliverUpTo(zxid>>znode.OrderBits) {
		return false
	}
	// Every request keeps the session alive, pings or not, from the tick
	// it arrived in as far as its transactions tell it (heartbeat.go);
	// noted before its reply leaves, so that a client that got its reply
	// knows the refresh will count it.
	c.s.touch(c, c.rvs.Max())
	if zxid > c.lastZxid {
		c.lastZxid = zxid
	}
	c.out = zkwire.AppendReply(c.out, zkwire.ReplyHeader{Xid: xid, Zxid: zxid, Err: code}, body)
	c.packet(false)
	return c.send()
}

// send writes what c.out holds, unless the request being run holds its
// output for one write with the next request's, which is already read
// (serve).
func (c *conn) send() bool {
	if c.hold && c.in.ready() {
		return true
	}
	return c.flush()
}

// flush writes what c.out holds.
func (c *conn) flush() bool {
	if len(c.out) == 0 {
		return true
	}
	d := c.timeout
	if d == 0 {
		d = handshakeTimeout
	}
	c.nc.SetWriteDeadline(time.Now().Add(d))
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	if cap(c.out) > 1<<20 {
		c.out = nil // do not keep a large reply's buffer
	}
	if err != nil {
		c.log().Debug("write failed; closing", zap.Error(err))
		return false
	}
	return true
}
