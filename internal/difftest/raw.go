package difftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/go-zookeeper/zk"
)

// The raw-protocol client: just enough jute (ZK-SEMANTICS §1, §3) to send
// what go-zookeeper cannot (opcodes it lacks, paths it refuses, multi
// with create2 ops) and to see what it hides (reply and notification
// zxids). Requests are sent one at a time and answered in order.

// Opcodes (ZK-SEMANTICS §3).
const (
	opCreate          = 1
	opDelete          = 2
	opExists          = 3
	opGetData         = 4
	opSetData         = 5
	opGetACL          = 6
	opSetACL          = 7
	opGetChildren     = 8
	opSync            = 9
	opPing            = 11
	opGetChildren2    = 12
	opCheck           = 13
	opMulti           = 14
	opCreate2         = 15
	opCheckWatches    = 17
	opRemoveWatches   = 18
	opCreateContainer = 19
	opDeleteContainer = 20
	opCreateTTL       = 21
	opMultiRead       = 22
	opAuth            = 100
	opSetWatches      = 101
	opGetEphemerals   = 103
	opGetAllChildren  = 104
	opSetWatches2     = 105
	opAddWatch        = 106
	opWhoAmI          = 107
	opCloseSession    = -11
)

// enc builds a jute record.
type enc struct{ b []byte }

func (e *enc) int(v int32)  { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *enc) long(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *enc) buf(v []byte) {
	if v == nil {
		e.int(-1)
		return
	}
	e.int(int32(len(v)))
	e.b = append(e.b, v...)
}

func (e *enc) str(s string) { e.buf([]byte(s)) }

func (e *enc) acl(acl []zk.ACL) {
	if acl == nil {
		e.int(-1)
		return
	}
	e.int(int32(len(acl)))
	for _, a := range acl {
		e.int(a.Perms)
		e.str(a.Scheme)
		e.str(a.ID)
	}
}

// dec reads a jute record; the first error sticks.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("short body")

func (d *dec) take(n int) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		if d.err == nil {
			d.err = errShort
		}
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (d *dec) long() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

func (d *dec) bool() bool {
	v := d.take(1)
	return v != nil && v[0] != 0
}

func (d *dec) buf() []byte {
	n := d.int()
	if n < 0 || d.err != nil {
		return nil
	}
	return append([]byte{}, d.take(int(n))...)
}

func (d *dec) str() string { return string(d.buf()) }

func (d *dec) strs() []string {
	n := d.int()
	if n < 0 {
		return nil
	}
	out := []string{}
	for i := int32(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (d *dec) stat() *zk.Stat {
	return &zk.Stat{
		Czxid: d.long(), Mzxid: d.long(), Ctime: d.long(), Mtime: d.long(),
		Version: d.int(), Cversion: d.int(), Aversion: d.int(),
		EphemeralOwner: d.long(), DataLength: d.int(), NumChildren: d.int(), Pzxid: d.long(),
	}
}

// rawReply is a reply header and its body.
type rawReply struct {
	xid  int32
	zxid int64
	err  int32
	body []byte
}

// rawEvent is a notification.
type rawEvent struct {
	typ, state int32
	path       string
	zxid       int64
}

// rawConn is one raw-protocol session. Not safe for concurrent use.
type rawConn struct {
	c         net.Conn
	sessionID int64
	timeout   int32
	passwd    []byte
	xid       int32
	lastSend  time.Time
	events    []rawEvent
	closed    bool
}

var errNoReply = errors.New("no reply")

// anyXid makes read return the next reply whatever its xid.
const anyXid = -1 << 31

// dialRaw connects and opens a new session.
func dialRaw(addr string) (*rawConn, error) {
	rc, err := dialSession(addr, 0, make([]byte, 16))
	if err == nil && rc.sessionID == 0 {
		rc.c.Close()
		err = errors.New("connect response without a session")
	}
	return rc, err
}

// dialSession connects and sends a ConnectRequest for sessionID with
// passwd (0 asks for a new session). The returned connection holds the
// ConnectResponse's timeout, session id and password, whatever they are:
// a refusal is {timeout 0, id 0, 16 zero bytes} (ZK-SEMANTICS §1).
func dialSession(addr string, sessionID int64, passwd []byte) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, connectTimeout)
	if err != nil {
		return nil, err
	}
	var e enc
	e.int(0)                                    // protocolVersion
	e.long(0)                                   // lastZxidSeen
	e.int(int32(sessionTimeout.Milliseconds())) // timeOut
	e.long(sessionID)                           // sessionId
	e.buf(passwd)                               // passwd
	e.bool(false)                               // readOnly
	rc := &rawConn{c: c}
	if err := rc.writeFrame(e.b); err != nil {
		c.Close()
		return nil, err
	}
	b, err := rc.readFrame(time.Now().Add(connectTimeout))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect response: %w", err)
	}
	d := dec{b: b}
	d.int() // protocolVersion
	rc.timeout = d.int()
	rc.sessionID = d.long()
	rc.passwd = d.buf()
	if d.err != nil {
		c.Close()
		return nil, fmt.Errorf("bad connect response %x", b)
	}
	return rc, nil
}

// awaitEOF reads and drops frames until the server closes the
// connection, for at most wait, and reports whether it did.
func (rc *rawConn) awaitEOF(wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		if _, err := rc.readFrame(deadline); err != nil {
			if isTimeout(err) {
				return false
			}
			rc.closed = true
			return true
		}
	}
}

// isTimeout tells a read deadline that passed from a closed connection.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (rc *rawConn) writeFrame(payload []byte) error {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	rc.c.SetWriteDeadline(time.Now().Add(stepTimeout))
	_, err := rc.c.Write(append(frame, payload...))
	rc.lastSend = time.Now()
	return err
}

func (rc *rawConn) readFrame(deadline time.Time) ([]byte, error) {
	rc.c.SetReadDeadline(deadline)
	var n [4]byte
	if _, err := io.ReadFull(rc.c, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes", size)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(rc.c, b)
	return b, err
}

// send writes one request and returns its xid. A ping goes first if the
// session has been quiet for a while, so that it does not expire while
// other sessions of the case work.
func (rc *rawConn) send(op int32, body []byte) (int32, error) {
	if rc.closed {
		return 0, zk.ErrConnectionClosed
	}
	if time.Since(rc.lastSend) > time.Duration(rc.timeout)*time.Millisecond/4 {
		if _, err := rc.roundTrip(-2, opPing, nil); err != nil {
			return 0, err
		}
	}
	rc.xid++
	return rc.xid, rc.write(rc.xid, op, body)
}

func (rc *rawConn) write(xid, op int32, body []byte) error {
	var e enc
	e.int(xid)
	e.int(op)
	e.b = append(e.b, body...)
	return rc.writeFrame(e.b)
}

// read returns the reply to xid, collecting notifications on the way. A
// reply with another xid is an error (ZooKeeper answers in order). With
// wait > 0, read gives up with errNoReply after that long.
func (rc *rawConn) read(xid int32, wait time.Duration) (rawReply, error) {
	if wait == 0 {
		wait = stepTimeout
	}
	deadline := time.Now().Add(wait)
	for {
		b, err := rc.readFrame(deadline)
		if err != nil {
			if isTimeout(err) {
				return rawReply{}, errNoReply
			}
			rc.closed = true
			return rawReply{}, zk.ErrConnectionClosed
		}
		d := dec{b: b}
		r := rawReply{xid: d.int(), zxid: d.long(), err: d.int()}
		r.body = d.b
		if d.err != nil {
			return rawReply{}, fmt.Errorf("short reply header %x", b)
		}
		switch {
		case r.xid == -1:
			ev := dec{b: r.body}
			rc.events = append(rc.events, rawEvent{typ: ev.int(), state: ev.int(), path: ev.str(), zxid: r.zxid})
		case r.xid == xid, xid == anyXid && r.xid != -2:
			return r, nil
		case r.xid == -2:
			// a ping reply nobody waits for
		default:
			return r, fmt.Errorf("reply for xid %d while waiting for %d", r.xid, xid)
		}
	}
}

func (rc *rawConn) roundTrip(xid, op int32, body []byte) (rawReply, error) {
	if err := rc.write(xid, op, body); err != nil {
		rc.closed = true
		return rawReply{}, zk.ErrConnectionClosed
	}
	return rc.read(xid, 0)
}

// call sends a request and waits for its reply.
func (rc *rawConn) call(op int32, body []byte) (rawReply, error) {
	xid, err := rc.send(op, body)
	if err != nil {
		rc.closed = true
		return rawReply{}, zk.ErrConnectionClosed
	}
	return rc.read(xid, 0)
}

func (rc *rawConn) close() {
	if rc.closed {
		return
	}
	rc.closed = true
	rc.xid++
	if rc.write(rc.xid, opCloseSession, nil) == nil {
		rc.read(rc.xid, 5*time.Second)
	}
	rc.c.Close()
}

// rawCode names a reply's error code.
func rawCode(code int32) string {
	if name, ok := codeNames[int(code)]; ok {
		return name
	}
	return fmt.Sprintf("CODE(%d)", code)
}
