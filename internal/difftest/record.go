package difftest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-zookeeper/zk"

	"zkfdb/internal/cutdial"
)

// Timeouts of one run. Every wait of the harness is bounded by one of them.
const (
	stepTimeout    = 30 * time.Second // one request and its reply
	connectTimeout = 30 * time.Second // a new session
	// AwaitTimeout bounds R.AwaitGone: how long the server's container and
	// TTL reaper may take (the reference runs it every second).
	AwaitTimeout   = 30 * time.Second
	sessionTimeout = 10 * time.Second // requested; ZooKeeper clamps it to [2, 20] ticks
)

// Case is one scripted operation sequence. Run drives it through R; it may
// branch on answers (both servers then get the same branch if they answer
// the same) but must not depend on anything else.
type Case struct {
	Name string
	Run  func(r *R)
}

// R is one run of a case against one server. Its methods are the steps;
// each records one entry of the transcript. Paths given to steps are
// relative to the case's root ("" is the root itself, "a/b" is
// <root>/a/b); a path starting with '/' is absolute. Steps return what the
// case may need later (a created path relative to the root, a version).
//
// R embeds session 0; S(i) gives the others. R is not safe for concurrent
// use: a case is one sequential script.
type R struct {
	*Session
	addr     string
	root     string
	start    time.Time
	sessions []*Session
	raws     []*rawConn // raw-protocol sessions, see Raw
	// writeZxids are the reply zxids of the raw write steps, in order.
	writeZxids []int64
	entries    []*entry
	mask       []string // of the current step
	nextMask   []string // set by Mask for the next step
	known      *knownMark
}

// Session is one client session of a run, opened on first use. Its watch
// events are collected in arrival order for R.Events.
type Session struct {
	r    *R
	idx  int
	conn *zk.Conn
	id   int64
	stop chan struct{} // closed when go-zookeeper's goroutines are done

	mu     sync.Mutex
	events []zk.Event
	closed bool
	// established is closed and replaced each time the client has its
	// session on a connection, first or again after a lost connection.
	established chan struct{}
	// dialer cuts the client's connection when the case kills it: a
	// killed client dials no more.
	dialer cutdial.Dialer
}

// abort ends a run that cannot go on (no session could be opened); the
// transcript records it and Compare reports it as a harness failure.
type abort struct{ err error }

type entry struct {
	who    string // "s0", "r1": the session that sent the request
	req    string
	code   string
	parts  []any // string or zxid; rendered once the run is over
	known  *knownMark
	detail string // for a known step: what is compared besides the code
}

type zxid int64

type knownMark struct {
	diff           *KnownDifference
	want38, want39 string
}

// S returns session i of the run (0 is the one R embeds), connecting it
// on first use.
func (r *R) S(i int) *Session {
	for len(r.sessions) <= i {
		r.sessions = append(r.sessions, &Session{r: r, idx: len(r.sessions)})
	}
	s := r.sessions[i]
	if s.conn == nil && !s.closed {
		if err := s.connect(); err != nil {
			panic(abort{fmt.Errorf("session s%d: %w", i, err)})
		}
	}
	return s
}

func (s *Session) connect() error {
	s.mu.Lock()
	s.established = make(chan struct{})
	has := s.established
	s.mu.Unlock()
	cb := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			s.mu.Lock()
			close(s.established)
			s.established = make(chan struct{})
			s.mu.Unlock()
		}
		if ev.Type > 0 { // watch events; session events are not compared
			s.mu.Lock()
			s.events = append(s.events, ev)
			s.mu.Unlock()
		}
	}
	conn, events, err := zk.Connect([]string{s.r.addr}, sessionTimeout,
		zk.WithLogInfo(false), zk.WithLogger(discardLogger{}), zk.WithEventCallback(cb),
		zk.WithMaxConnBufferSize(2<<20), zk.WithDialer(s.dialer.Dial))
	if err != nil {
		return err
	}
	s.conn = conn
	s.stop = make(chan struct{})
	go func() {
		for range events { // the channel is closed when the client stops
		}
		close(s.stop)
	}()
	select {
	case <-has:
	case <-time.After(connectTimeout):
		s.closeConn()
		return fmt.Errorf("no session with %s within %v", s.r.addr, connectTimeout)
	}
	s.id = conn.SessionID()
	return nil
}

// closeConn closes the client and waits for its goroutines (bounded).
func (s *Session) closeConn() {
	if s.conn == nil || s.closed {
		return
	}
	s.closed = true
	s.conn.Close()
	select {
	case <-s.stop:
	case <-time.After(stepTimeout):
	}
}

// kill cuts the client's connection without closing its session, as a
// client process that dies, and keeps it from connecting again: the
// server expires the session after its timeout.
func (s *Session) kill() { s.dialer.Die() }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

var errStepTimeout = errors.New("no reply within the step timeout")

// call runs one client request, bounded by stepTimeout: on timeout the
// session is closed, which makes go-zookeeper return.
func (s *Session) call(f func() error) error {
	if s.closed {
		return zk.ErrConnectionClosed
	}
	s.mu.Lock()
	next := s.established // closed by the next session establishment
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if codeOf(err) == "CONNECTIONCLOSED" {
			s.awaitReconnect(next)
		}
		return err
	case <-time.After(stepTimeout):
		s.closeConn()
		<-done
		return errStepTimeout
	}
}

// awaitReconnect waits (bounded) until the client has its session again
// after the server closed its connection (however the client named the
// close: codeOf). Without it the next step races go-zookeeper's reconnect
// loop, on either server alike: a request queued before the loop finds it
// has tried every address fails with "no server", one queued after waits
// for the new connection. A killed client dials no more.
func (s *Session) awaitReconnect(next chan struct{}) {
	if s.dialer.Dead() {
		return
	}
	select {
	case <-next:
	case <-time.After(connectTimeout):
	}
}

// abs turns a case path into a server path.
func (r *R) abs(p string) string {
	switch {
	case p == "":
		return r.root
	case strings.HasPrefix(p, "/"):
		return p
	default:
		return r.root + "/" + p
	}
}

// rel turns a server path into a case path (the inverse of abs).
func (r *R) rel(p string) string {
	switch {
	case p == r.root:
		return ""
	case strings.HasPrefix(p, r.root+"/"):
		return p[len(r.root)+1:]
	default:
		return p
	}
}

// show renders a server path for the transcript: the root becomes "~".
func (r *R) show(p string) string {
	switch {
	case p == r.root:
		return "~"
	case strings.HasPrefix(p, r.root+"/"):
		rest := p[len(r.root):]
		if q := strconv.Quote(rest); q[1:len(q)-1] != rest {
			return "~" + q // control characters, invalid UTF-8, …
		}
		return "~" + rest
	default:
		return strconv.Quote(p)
	}
}

// record appends an entry for a request of session s that ended with err.
func (r *R) record(s *Session, req string, err error) *entry {
	return r.recordAs(fmt.Sprintf("s%d", s.idx), req, codeOf(err))
}

// recordAs appends an entry for a request sent by who that ended with code.
func (r *R) recordAs(who, req, code string) *entry {
	e := &entry{who: who, req: req, code: code, known: r.known}
	r.known = nil
	r.mask, r.nextMask = r.nextMask, nil
	r.entries = append(r.entries, e)
	return e
}

func (e *entry) add(parts ...any) { e.parts = append(e.parts, parts...) }

// Mask hides Stat fields of the next step that are not deterministic on a
// shared server (the root's cversion, numChildren and pzxid move with
// every case). Field names are the Stat's: czxid, mzxid, pzxid, ctime,
// mtime, version, cversion, aversion, owner, dataLength, numChildren.
func (r *R) Mask(fields ...string) { r.nextMask = fields }

func (r *R) masked(f string) bool { return slices.Contains(r.mask, f) }

func (r *R) stat(e *entry, st *zk.Stat) {
	if st == nil {
		e.add(" stat=nil")
		return
	}
	z := func(name string, v int64) {
		if r.masked(name) {
			e.add(" " + name + "=*")
		} else {
			e.add(" "+name+"=", zxid(v))
		}
	}
	n := func(name string, v int32) {
		if r.masked(name) {
			e.add(" " + name + "=*")
		} else {
			e.add(fmt.Sprintf(" %s=%d", name, v))
		}
	}
	e.add(" stat{")
	z("czxid", st.Czxid)
	z("mzxid", st.Mzxid)
	z("pzxid", st.Pzxid)
	if !r.masked("ctime") {
		e.add(" ctime=" + r.timeOf(st.Ctime))
	}
	if !r.masked("mtime") {
		e.add(" mtime=" + r.mtimeOf(st))
	}
	n("version", st.Version)
	n("cversion", st.Cversion)
	n("aversion", st.Aversion)
	if !r.masked("owner") {
		e.add(" owner=" + r.owner(st.EphemeralOwner))
	}
	n("dataLength", st.DataLength)
	n("numChildren", st.NumChildren)
	e.add(" }")
}

// timeOf renders a ctime: 0 stays 0; a wall-clock time of this run is
// "now"; anything else is shown as a bad value.
func (r *R) timeOf(ms int64) string {
	if ms == 0 {
		return "0"
	}
	t := time.UnixMilli(ms)
	if t.After(r.start.Add(-10*time.Minute)) && t.Before(time.Now().Add(10*time.Minute)) {
		return "now"
	}
	return fmt.Sprintf("BAD(%d)", ms)
}

// mtimeOf relates mtime to ctime: equal while the node was never modified
// (mzxid == czxid), not earlier once it was.
func (r *R) mtimeOf(st *zk.Stat) string {
	switch {
	case st.Mzxid == st.Czxid && st.Mtime == st.Ctime:
		return "ctime"
	case st.Mzxid == st.Czxid:
		return fmt.Sprintf("BAD(mzxid=czxid, mtime-ctime=%dms)", st.Mtime-st.Ctime)
	case st.Mtime >= st.Ctime && r.timeOf(st.Mtime) == "now":
		return ">=ctime"
	default:
		return fmt.Sprintf("BAD(mtime-ctime=%dms)", st.Mtime-st.Ctime)
	}
}

func (r *R) owner(id int64) string {
	if id == 0 {
		return "0"
	}
	for _, s := range r.sessions {
		if s.id == id {
			return fmt.Sprintf("s%d", s.idx)
		}
	}
	for i, c := range r.raws {
		if c != nil && c.sessionID == id {
			return fmt.Sprintf("r%d", i)
		}
	}
	return fmt.Sprintf("%#x", uint64(id))
}

// render turns the entries into transcript lines, replacing each zxid by
// its rank among the zxids the run saw.
func (r *R) render() []Line {
	var seen []int64
	for _, e := range r.entries {
		if e.known != nil {
			continue // the two versions may see different zxids here
		}
		for _, p := range e.parts {
			if z, ok := p.(zxid); ok && z != 0 {
				seen = append(seen, int64(z))
			}
		}
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	rank := make(map[int64]int, len(seen))
	for i, z := range seen {
		rank[z] = i + 1
	}
	lines := make([]Line, len(r.entries))
	for i, e := range r.entries {
		var b strings.Builder
		b.WriteString(e.code)
		for _, p := range e.parts {
			switch p := p.(type) {
			case zxid:
				switch {
				case p == 0:
					b.WriteString("0")
				case e.known != nil:
					b.WriteString("Z")
				default:
					fmt.Fprintf(&b, "Z%d", rank[int64(p)])
				}
			default:
				fmt.Fprint(&b, p)
			}
		}
		b.WriteString(e.detail)
		lines[i] = Line{Req: e.who + " " + e.req, Result: b.String(), Known: e.known}
	}
	return lines
}

// Line is one step of a transcript.
type Line struct {
	Req    string // the request, as "<session> <op> <args>"
	Result string // the error code and the normalized answer
	Known  *knownMark
}

// codeOf names the ZooKeeper error code behind a go-zookeeper error.
func codeOf(err error) string {
	if err == nil {
		return "OK"
	}
	for code, e := range clientErrors {
		if errors.Is(err, e) {
			return code
		}
	}
	var n int
	if _, scanErr := fmt.Sscanf(err.Error(), "unknown error: %d", &n); scanErr == nil {
		if name, ok := codeNames[n]; ok {
			return name
		}
		return fmt.Sprintf("CODE(%d)", n)
	}
	if errors.Is(err, errStepTimeout) {
		return "TIMEOUT"
	}
	// A server that closes a connection while the client is still
	// writing a request (one over jute.maxbuffer) makes go-zookeeper fail
	// it with the socket's error (broken pipe, reset) instead of
	// ErrConnectionClosed, depending on how much of the frame the kernel
	// took before the close: the same event, named by a race.
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "write" {
		return "CONNECTIONCLOSED"
	}
	return "CLIENT(" + err.Error() + ")"
}

// clientErrors maps go-zookeeper's sentinels to ZooKeeper's code names
// (ZK-SEMANTICS §14); errors the client makes up itself are named after
// the client.
var clientErrors = map[string]error{
	"APIERROR":                zk.ErrAPIError,
	"NONODE":                  zk.ErrNoNode,
	"NOAUTH":                  zk.ErrNoAuth,
	"BADVERSION":              zk.ErrBadVersion,
	"NOCHILDRENFOREPHEMERALS": zk.ErrNoChildrenForEphemerals,
	"NODEEXISTS":              zk.ErrNodeExists,
	"NOTEMPTY":                zk.ErrNotEmpty,
	"SESSIONEXPIRED":          zk.ErrSessionExpired,
	"INVALIDACL":              zk.ErrInvalidACL,
	"AUTHFAILED":              zk.ErrAuthFailed,
	"SESSIONMOVED":            zk.ErrSessionMoved,
	"RECONFIGDISABLED":        zk.ErrReconfigDisabled,
	"BADARGUMENTS":            zk.ErrBadArguments,
	"CLIENT(closing)":         zk.ErrClosing,
	"CLIENT(nothing)":         zk.ErrNothing,
	"CLIENT(invalid path)":    zk.ErrInvalidPath,
	"CLIENT(invalid flags)":   zk.ErrInvalidFlags,
	"CONNECTIONCLOSED":        zk.ErrConnectionClosed,
	"CLIENT(no server)":       zk.ErrNoServer,
}

// codeNames are ZooKeeper's error codes (ZK-SEMANTICS §14).
var codeNames = map[int]string{
	0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
	-4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
	-8: "BADARGUMENTS", -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM", -14: "RECONFIGINPROGRESS",
	-100: "APIERROR", -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
	-108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY", -112: "SESSIONEXPIRED",
	-113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED", -118: "SESSIONMOVED",
	-119: "NOTREADONLY", -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER", -122: "REQUESTTIMEOUT",
	-123: "RECONFIGDISABLED", -124: "SESSIONCLOSEDREQUIRESASLAUTH", -125: "QUOTAEXCEEDED",
	-127: "THROTTLEDOP",
}

// fmtData renders data: null, short text quoted, anything else by length
// and hash.
func fmtData(b []byte) string {
	switch {
	case b == nil:
		return "null"
	case len(b) <= 64 && utf8.Valid(b):
		return strconv.Quote(string(b))
	default:
		h := sha1.Sum(b)
		return fmt.Sprintf("bytes(len=%d sha1=%s)", len(b), hex.EncodeToString(h[:8]))
	}
}

func fmtACL(acl []zk.ACL) string {
	if acl == nil {
		return "[]"
	}
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s=%d", a.Scheme, a.ID, a.Perms)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// fmtChildren renders children as a sorted set (ZooKeeper's order is a
// Java HashSet's, ZK-SEMANTICS §13); long lists by count and hash.
func fmtChildren(c []string) string {
	s := slices.Clone(c)
	sort.Strings(s)
	if len(s) <= 40 {
		return "[" + strings.Join(s, " ") + "]"
	}
	h := sha1.Sum([]byte(strings.Join(s, "/")))
	return fmt.Sprintf("[%d children: %s %s … %s sha1=%s]", len(s), s[0], s[1], s[len(s)-1], hex.EncodeToString(h[:8]))
}

// run executes c against addr under root and returns its transcript; a
// harness failure (no session) is returned as an error with the lines so
// far.
func run(ctx context.Context, addr, root string, c Case) (lines []Line, err error) {
	r := &R{addr: addr, root: root, start: time.Now()}
	defer func() {
		for _, s := range r.sessions {
			s.closeConn()
		}
		for _, c := range r.raws {
			if c != nil {
				c.close()
			}
		}
	}()
	defer func() {
		if v := recover(); v != nil {
			a, ok := v.(abort)
			if !ok {
				panic(v)
			}
			lines, err = r.render(), a.err
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.Session = r.S(0)
	err = r.call(func() error {
		_, err := r.conn.Create(root, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create the case root %s: %w", root, err)
	}
	c.Run(r)
	return r.render(), nil
}
