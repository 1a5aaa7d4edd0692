package znode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Options configure a Tree. A zero field means the default.
type Options struct {
	// SuperDigest, if set, is the digest id (user:base64 SHA1) whose
	// addAuth makes a connection super (zookeeper.DigestAuthenticationProvider.superDigest).
	SuperDigest string
	// Tick is the length of one tick of the cluster's clock (shared/clock):
	// session timeouts are counted in ticks of it. Default clock's
	// DefaultInterval, 1 s.
	Tick time.Duration
	// ReadBudget is how long one transaction of a long listing
	// (getChildren, getAllChildrenNumber) or of a batch of a session's end
	// or of setWatches may read before the rest goes to a new
	// transaction: well inside FoundationDB's 5-second window. Default
	// DefaultReadBudget; tests shorten it to split small work.
	ReadBudget time.Duration
}

// DefaultReadBudget is Options.ReadBudget's default.
const DefaultReadBudget = 2 * time.Second

// Tree is one tenant's znode tree. It is safe for concurrent use.
type Tree struct {
	db   store.DB
	t    keys.Tenant
	opts Options
	seq  *seqQueue // sequential creates, by parent (seqqueue.go)
	kids childCache
}

// New returns the tree of tenant t in db. Call Init once before use.
func New(db store.DB, t keys.Tenant, opts Options) *Tree {
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.ReadBudget <= 0 {
		opts.ReadBudget = DefaultReadBudget
	}
	return &Tree{db: bounded(db), t: t, opts: opts, seq: newSeqQueue()}
}

// SuperDigest returns the configured super-user digest.
func (tr *Tree) SuperDigest() string { return tr.opts.SuperDigest }

// Caller is who makes a request and when.
type Caller struct {
	// Session is the session id; 0 for internal callers (no session).
	Session int64
	// Auth is the connection's identities, for ACL checks.
	Auth Auth
	// Now is the wall-clock time of the request in ms (ctime, mtime),
	// taken once, before any retry.
	Now int64
	// Token identifies the request across retries of its transaction;
	// make it before calling (a fresh random value per request).
	Token [16]byte
	// Conn, if set, is the connection the request came through: a write
	// fails with ErrSessionMoved unless it owns the session, and with
	// ErrSessionExpired if the session is gone.
	Conn int64
}

// Op is one write of a multi: CreateOp, DeleteOp, SetDataOp or CheckOp.
type Op interface{ isOp() }

// CreateOp creates a node. Flags are ZooKeeper's create mode (0–6);
// Container is set for the createContainer opcode; TTL is the createTTL
// opcode's TTL in ms, −1 for the other opcodes.
type CreateOp struct {
	Path      string
	Data      []byte
	ACL       []ACL
	Flags     int32
	Container bool
	TTL       int64
}

// DeleteOp deletes a node if its version matches (−1: any).
type DeleteOp struct {
	Path    string
	Version int32
}

// SetDataOp replaces a node's data if its version matches (−1: any).
type SetDataOp struct {
	Path    string
	Data    []byte
	Version int32
}

// CheckOp fails the multi unless the node's version matches (−1: any).
type CheckOp struct {
	Path    string
	Version int32
}

// SetACLOp replaces a node's ACL if its aversion matches (−1: any). It is
// not allowed in a multi.
type SetACLOp struct {
	Path    string
	ACL     []ACL
	Version int32
}

// DeleteContainerOp is ZooKeeper's deleteContainer: it deletes an empty
// node with no session or ACL check (ZooKeeper's container reaper sends it,
// and clients may too); a session's ephemeral gives ErrBadVersion.
type DeleteContainerOp struct {
	Path string
}

func (DeleteContainerOp) isOp() {}
func (CreateOp) isOp()          {}
func (DeleteOp) isOp()          {}
func (SetDataOp) isOp()         {}
func (CheckOp) isOp()           {}
func (SetACLOp) isOp()          {}

// Result is one op's outcome. Path is a create's path; Stat is set for
// ops whose reply carries one (create, setData, setACL).
type Result struct {
	Err     error
	Path    string
	Stat    Stat
	HasStat bool
}

// Written is the outcome of a write: one result per op, and the zxid of
// its transaction (or, when it failed, the zxid the reply carries).
type Written struct {
	Results []Result
	Zxid    int64
}

// Failed returns the first op's error, if any.
func (w Written) Failed() error {
	for _, r := range w.Results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// multiFailure ends a transaction whose ops failed: nothing is
// committed. at is the failing op.
type multiFailure struct {
	at  int
	err error
	rv  int64 // the read version, for the reply's zxid
}

func (m *multiFailure) Error() string { return fmt.Sprintf("op %d: %v", m.at, m.err) }

// writeMaxRetryDelay caps the backoff of a client's write after a
// conflict (docs/benchmarks.md, "The lock tail").
const writeMaxRetryDelay = 20 * time.Millisecond

// Write applies ops atomically, each validated against the state left by
// the ones before (a multi, or one op). If op k fails nothing is applied:
// ops before k report nil, op k its error, ops after k
// ErrRuntimeInconsistency. err is for failures of the store, not of ops.
func (tr *Tree) Write(ctx context.Context, c Caller, ops []Op) (Written, error) {
	leave, err := tr.seq.enter(ctx, ops)
	if err != nil {
		return Written{}, err
	}
	defer leave()
	var stamp store.FutureVersionstamp
	type attempt struct {
		results []pendingResult
		replay  *lastWrite
		failure *multiFailure // recorded as the session's last write
	}
	first := true
	a, err := store.TransactConflictAtOnce(ctx, tr.db, func(tx store.Tx) (attempt, error) {
		var at attempt
		// Only a retry can find its own earlier attempt committed (after
		// commit_unknown_result); the first attempt skips the read.
		retry := !first
		first = false
		// Writes conflict only when they contend for one node: the same
		// node's setData, sequential creates under one parent (which all
		// read its counter: a lock recipe's waiters), a delete and the
		// exists watch its node's next waiter sets, and so on; one per
		// commit batch wins. FDB's default backoff, doubling to 1 s,
		// starves some of them for seconds while fresh ones win, where
		// ZooKeeper would queue them; a short cap keeps them all
		// retrying. The first conflict is retried at once, in a fresh
		// transaction (so the cap is set at every attempt): the winner
		// has committed, and the loser would otherwise sleep up to 10 ms
		// where ZooKeeper queues it behind the winner.
		tx.SetMaxRetryDelay(writeMaxRetryDelay)
		if c.Session != 0 && retry {
			b, err := tr.readLastWrite(tx, c.Session)
			if err != nil {
				return at, err
			}
			if lw, ok := decodeLastWrite(b); ok && lw.Token == c.Token {
				at.replay = &lw // a retry of a commit that applied
				return at, nil
			}
		}
		x := tr.newTxn(tx, c)
		x.prefetch(ops)
		if c.Conn != 0 && c.Session != 0 {
			if err := x.checkSession(); err != nil {
				return at, err
			}
		}
		for i, op := range ops {
			if err := x.apply(op); err != nil {
				var se store.Error
				if errors.As(err, &se) {
					return at, err
				}
				rv, _ := tx.GetReadVersion().Get()
				mf := &multiFailure{at: i, err: err, rv: rv}
				if c.Session == 0 {
					return at, mf
				}
				// ZooKeeper logs a failed write as an error transaction
				// with a zxid of its own. So do we: the ops' writes are
				// dropped and only the failure is recorded, which also
				// makes the failure's reply the same on a retry.
				tx.Reset()
				b, err := encodeLastWrite(c.Token, nil, mf)
				if err != nil {
					return at, err
				}
				tr.putLastWrite(tx, c.Session, b)
				stamp = tx.GetVersionstamp()
				at.failure = mf
				return at, nil
			}
		}
		if err := x.finish(); err != nil {
			return at, err
		}
		at.results = x.results
		if c.Session != 0 {
			b, err := encodeLastWrite(c.Token, x.results, nil)
			if err != nil {
				return at, err
			}
			tr.putLastWrite(tx, c.Session, b)
		}
		stamp = tx.GetVersionstamp()
		return at, nil
	})
	var mf *multiFailure
	if errors.As(err, &mf) {
		return failedWrite(len(ops), mf), nil
	}
	if tooLarge(err) && !isFailOp(ops) {
		return tr.refuse(ctx, c, len(ops))
	}
	if err != nil {
		return Written{}, err
	}
	if a.replay != nil {
		if err := checkOrder(a.replay.own); err != nil {
			return Written{}, err
		}
		return a.replay.written(len(ops)), nil
	}
	own, err := stamp.Get()
	if err != nil {
		return Written{}, err
	}
	if err := checkOrder(own); err != nil {
		return Written{}, err
	}
	if a.failure != nil {
		w := failedWrite(len(ops), a.failure)
		w.Zxid = Zxid(own)
		return w, nil
	}
	return resolve(a.results, own), nil
}

// Fail records a write that the protocol layer refused (a malformed
// multi) as the session's last write, as ZooKeeper logs an error
// transaction for it, and returns its zxid.
func (tr *Tree) Fail(ctx context.Context, c Caller, cause error) (int64, error) {
	w, err := tr.Write(ctx, c, []Op{failOp{cause}})
	return w.Zxid, err
}

// failOp is an op that fails with its error.
type failOp struct{ err error }

// FailOp returns an op that fails with err: for a request the protocol
// layer refuses inside a multi (a TTL create while extended types are
// off), so that the multi fails there as ZooKeeper's does, the ops
// after it RUNTIMEINCONSISTENCY.
func FailOp(err error) Op { return failOp{err} }

func isFailOp(ops []Op) bool {
	if len(ops) != 1 {
		return false
	}
	_, ok := ops[0].(failOp)
	return ok
}

// refuse answers a write of n ops that one transaction cannot hold
// (tooLarge): nothing of it was applied, and, as for any failed write,
// the failure is recorded as the session's last write with a zxid of its
// own. Its first op carries ErrTooLarge, the others
// ErrRuntimeInconsistency; the protocol answers a multi as a whole
// (layerd/zkserver).
func (tr *Tree) refuse(ctx context.Context, c Caller, n int) (Written, error) {
	mf := &multiFailure{at: 0, err: ErrTooLarge}
	w := failedWrite(n, mf)
	if c.Session == 0 {
		return w, nil
	}
	f, err := tr.Write(ctx, c, []Op{failOp{ErrTooLarge}})
	if err != nil {
		return Written{}, err
	}
	w.Zxid = f.Zxid
	return w, nil
}

func (failOp) isOp() {}

func failedWrite(n int, mf *multiFailure) Written {
	w := Written{Results: make([]Result, n), Zxid: ReadZxid(mf.rv)}
	for i := range w.Results {
		switch {
		case i == mf.at:
			w.Results[i].Err = mf.err
		case i > mf.at:
			w.Results[i].Err = ErrRuntimeInconsistency
		}
	}
	return w
}

func resolve(rs []pendingResult, own store.Versionstamp) Written {
	w := Written{Results: make([]Result, len(rs)), Zxid: Zxid(own)}
	for i, r := range rs {
		w.Results[i] = Result{Path: r.Path, HasStat: r.has}
		if r.has {
			w.Results[i].Stat = r.snap.stat(own)
		}
	}
	return w
}

func (x *txn) apply(op Op) error {
	switch op := op.(type) {
	case CreateOp:
		return x.create(op)
	case DeleteOp:
		return x.delete(op)
	case SetDataOp:
		return x.setData(op)
	case CheckOp:
		return x.check(op)
	case SetACLOp:
		return x.setACL(op)
	case DeleteContainerOp:
		return x.deleteContainer(op)
	case failOp:
		return op.err
	}
	return ErrMarshalling
}

// lastWrite is the record of a session's last write (keys.LastWrite):
// its token and resolved results, stamped with its versionstamp.
type lastWrite struct {
	Token   [16]byte
	Results []Result
	Zxid    int64
	own     store.Versionstamp // the write's, whence Zxid
	failure *multiFailure
}

// The last-write record (keys.LastWrite) is the SetVersionstampedValue
// template: stamp (10 bytes, filled at commit), token (16), then
// lastWriteFormat and, in binary, either a failure (1, the op's index and
// the error's code: failureCode) or the results (0, their count, and each result's
// flags, path and, when it has one, Stat). It is rewritten by every write
// of the session and read only on a retry, so it is kept small: every
// byte of it is written to the log and compacted.
const lastWriteFormat = 3

// Flags of a result in the last-write record: it has a Stat, and which of
// the Stat's zxids are the transaction's own (resolved when read).
const (
	resultHasStat = 1 << iota
	resultOwnCzxid
	resultOwnMzxid
	resultOwnPzxid
)

// statLength is the size of a Stat in the last-write record.
const statLength = 8*2 + 8*2 + 4*3 + 8 + 4*2 + 8

// encodeLastWrite returns the SetVersionstampedValue template of the
// record.
func encodeLastWrite(token [16]byte, rs []pendingResult, failure *multiFailure) ([]byte, error) {
	b := make([]byte, 26, 192) // room for one op's result with its stat
	copy(b[10:26], token[:])
	b = append(b, lastWriteFormat)
	if failure != nil {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(failure.at))
		code := failureCode(failure.err)
		b = append(b, code)
		if code == 0 {
			b = appendString(b, failure.err.Error())
		}
		return store.AppendStampOffset(b, 0), nil
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		var flags byte
		var st Stat
		if r.has {
			var zero store.Versionstamp
			st = r.snap.stat(zero)
			pz := r.snap.rec.czxid
			if r.snap.hasPz {
				pz = r.snap.pzxid
			}
			flags |= resultHasStat
			if r.snap.rec.czxid.pending {
				flags |= resultOwnCzxid
			}
			if r.snap.rec.mzxid.pending {
				flags |= resultOwnMzxid
			}
			if pz.pending {
				flags |= resultOwnPzxid
			}
		}
		b = append(b, flags)
		b = appendString(b, r.Path)
		if r.has {
			b = appendStat(b, st)
		}
	}
	return store.AppendStampOffset(b, 0), nil
}

func appendStat(b []byte, s Stat) []byte {
	for _, v := range []int64{s.Czxid, s.Mzxid, s.Ctime, s.Mtime} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range []int32{s.Version, s.Cversion, s.Aversion} {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(s.EphemeralOwner))
	b = binary.BigEndian.AppendUint32(b, uint32(s.DataLength))
	b = binary.BigEndian.AppendUint32(b, uint32(s.NumChildren))
	return binary.BigEndian.AppendUint64(b, uint64(s.Pzxid))
}

// lastWriteReader decodes the record's body; a short or malformed record
// sets bad.
type lastWriteReader struct {
	b   []byte
	bad bool
}

func (r *lastWriteReader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *lastWriteReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

// string reads what appendString wrote.
func (r *lastWriteReader) string() string {
	if len(r.b) < 2 {
		r.bad = true
		return ""
	}
	n := int(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	if n > len(r.b) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *lastWriteReader) stat() Stat {
	if len(r.b) < statLength {
		r.bad = true
		return Stat{}
	}
	b := r.b
	u64 := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[i:])) }
	u32 := func(i int) int32 { return int32(binary.BigEndian.Uint32(b[i:])) }
	s := Stat{
		Czxid: u64(0), Mzxid: u64(8), Ctime: u64(16), Mtime: u64(24),
		Version: u32(32), Cversion: u32(36), Aversion: u32(40),
		EphemeralOwner: u64(44), DataLength: u32(52), NumChildren: u32(56), Pzxid: u64(60),
	}
	r.b = r.b[statLength:]
	return s
}

// putLastWrite stores template, a last-write record as a
// SetVersionstampedValue template (encodeLastWrite), as session's last
// write: in keys.LastWrite and, for a record longer than one FDB value
// (100,000 bytes: a multi of about a thousand ops with their paths and
// Stats), the rest in keys.LastWriteChunk keys of keys.ChunkSize bytes,
// each after the versionstamp of the record it belongs to.
//
// The chunks of an earlier, longer record are left where they are: the
// stamp tells readLastWrite they are not this record's. Clearing them
// blindly on every write, as this did before, cost every write a clear
// range, which the embedded engine's committer resolves alone and by
// opening a Pebble iterator (9 % of layerd's CPU under setData, 64
// sessions); the session's end clears them all (expiry.go).
// stampSize is the length of a versionstamp.
const stampSize = len(store.Versionstamp{})

func (tr *Tree) putLastWrite(tx store.Tx, session int64, template []byte) {
	body := template[:len(template)-4] // the stamp's offset (0) last
	if len(body) <= store.MaxValueSize {
		tx.SetVersionstampedValue(tr.t.LastWrite(session), template)
		return
	}
	tx.SetVersionstampedValue(tr.t.LastWrite(session), store.AppendStampOffset(append([]byte(nil), body[:keys.ChunkSize]...), 0))
	for i, rest := 1, body[keys.ChunkSize:]; len(rest) > 0; i++ {
		n := min(len(rest), keys.ChunkSize)
		chunk := make([]byte, stampSize, stampSize+n+4)
		chunk = append(chunk, rest[:n]...)
		tx.SetVersionstampedValue(tr.t.LastWriteChunk(session, i), store.AppendStampOffset(chunk, 0))
		rest = rest[n:]
	}
}

// readLastWrite reads session's last-write record (putLastWrite), nil if
// there is none. It joins the chunks that follow the first part in order
// (1, 2, ...) and carry its versionstamp; the first that does not is an
// earlier record's, and ends this one.
func (tr *Tree) readLastWrite(tx store.Tx, session int64) ([]byte, error) {
	first := tx.Get(tr.t.LastWrite(session))
	rest := tx.GetRange(tr.t.LastWriteChunks(session), store.RangeOptions{Mode: store.StreamingWantAll})
	b, err := first.Get()
	if err != nil {
		return nil, err
	}
	rows, err := rest.GetSlice()
	if err != nil || len(b) < stampSize {
		return b, err
	}
	stamp := b[:stampSize]
	for i, kv := range rows {
		if !bytes.Equal(kv.Key, tr.t.LastWriteChunk(session, i+1)) ||
			len(kv.Value) < stampSize || !bytes.Equal(kv.Value[:stampSize], stamp) {
			break
		}
		b = append(b, kv.Value[stampSize:]...)
	}
	return b, nil
}

// decodeLastWrite reads a record; false if it is not one this version
// wrote.
func decodeLastWrite(b []byte) (lastWrite, bool) {
	var lw lastWrite
	if len(b) < 27 || b[26] != lastWriteFormat {
		return lw, false
	}
	var own store.Versionstamp
	copy(own[:], b[:10])
	copy(lw.Token[:], b[10:26])
	lw.Zxid, lw.own = Zxid(own), own
	r := lastWriteReader{b: b[27:]}
	if r.byte() == 1 {
		at := r.uvarint()
		code := r.byte()
		var err error
		if code == 0 {
			err = errors.New(r.string())
		} else if int(code) <= len(sentinels) {
			err = sentinels[code-1]
		} else {
			r.bad = true
		}
		if r.bad || at > maxOps || len(r.b) != 0 {
			return lw, false
		}
		lw.failure = &multiFailure{at: int(at), err: err}
		return lw, true
	}
	n := r.uvarint()
	if r.bad || n > maxOps {
		return lw, false
	}
	for range n {
		flags := r.byte()
		res := Result{Path: r.string(), HasStat: flags&resultHasStat != 0}
		if res.HasStat {
			res.Stat = r.stat()
			if flags&resultOwnCzxid != 0 {
				res.Stat.Czxid = lw.Zxid
			}
			if flags&resultOwnMzxid != 0 {
				res.Stat.Mzxid = lw.Zxid
			}
			if flags&resultOwnPzxid != 0 {
				res.Stat.Pzxid = lw.Zxid
			}
		}
		if r.bad {
			return lw, false
		}
		lw.Results = append(lw.Results, res)
	}
	// A record is read whole and alone: bytes after it would be a part
	// that is not its own (readLastWrite).
	return lw, len(r.b) == 0
}

// sentinels are the errors a recorded failure can name, by code: the
// index here plus one. The codes are stored: append, never reorder.
var sentinels = []error{
	ErrNoNode, ErrNodeExists, ErrBadVersion, ErrNotEmpty, ErrNoChildrenForEphemerals,
	ErrBadArguments, ErrInvalidACL, ErrNoAuth, ErrSessionExpired, ErrUnimplemented,
	ErrMarshalling, ErrRuntimeInconsistency, ErrAuthFailed, ErrTooLarge,
}

// failureCode returns err's stored code; 0 for an error that is none of
// the sentinels (its message is stored then, for the record).
func failureCode(err error) byte {
	for i, e := range sentinels {
		if errors.Is(err, e) {
			return byte(i + 1)
		}
	}
	return 0
}

// maxOps bounds the ops a decoded record may name: more than a frame of
// jute.maxbuffer could carry is corruption.
const maxOps = 1 << 20

func (lw *lastWrite) written(n int) Written {
	if lw.failure != nil {
		w := failedWrite(n, lw.failure)
		w.Zxid = lw.Zxid
		return w
	}
	return Written{Results: lw.Results, Zxid: lw.Zxid}
}

// Init creates the fresh tree ZooKeeper starts with, if the tenant has
// none: "/" (all-zero Stat, world:anyone ALL), /zookeeper, /zookeeper/quota
// and /zookeeper/config (empty data, world:anyone READ, aversion −1).
func (tr *Tree) Init(ctx context.Context) error {
	_, err := store.Transact(ctx, tr.db, func(tx store.Tx) (struct{}, error) {
		root, _ := keys.NewPath("/")
		b, err := tx.Get(tr.t.Stat(root)).Get()
		if err != nil || b != nil {
			return struct{}{}, err
		}
		nodes := []struct {
			path     string
			children int
			acl      []ACL
			aversion int32
		}{
			{"/", 1, OpenACLUnsafe, 0},
			{"/zookeeper", 2, OpenACLUnsafe, 0},
			{"/zookeeper/quota", 0, OpenACLUnsafe, 0},
			{"/zookeeper/config", 0, ReadACLUnsafe, -1},
		}
		for _, n := range nodes {
			kp, _ := keys.NewPath(n.path)
			rec := record{acl: n.acl, aversion: n.aversion}
			enc, _ := rec.encode()
			tx.Set(tr.t.Stat(kp), enc)
			if n.children > 0 {
				tx.Set(tr.t.ChildCounts(kp), counterParam(uint64(n.children)))
			}
			if n.path != "/" {
				child, err := tr.t.Child(kp)
				if err != nil {
					return struct{}{}, err
				}
				tx.Set(child, nil)
			}
		}
		return struct{}{}, nil
	})
	return err
}

// --- reads ---

// Read is the outcome of a read: the read version's zxid goes in the reply
// header.
type Read struct {
	Data     []byte
	Stat     Stat
	Children []string
	ACL      []ACL
	Count    int32
	Zxid     int64
}

// readNode reads p's stat (and data if withData) in r.
func (tr *Tree) readNode(r store.Reader, p string, withData bool) (*node, []byte, error) {
	kp, rg, ok := tr.nodeRange(p, withData)
	if !ok {
		return &node{}, nil, nil
	}
	rows, err := r.GetRange(rg, rangeOpts).GetSlice()
	if err != nil {
		return nil, nil, err
	}
	return decodeNode(rg.Begin, kp, rows)
}

// nodeRange returns p's key and the range readNode reads of it: its
// keys.Node range with its data, else its keys.NodeStat range. ok is
// false for a path too long to be a node.
func (tr *Tree) nodeRange(p string, withData bool) (keys.Path, store.Range, bool) {
	if p == "" {
		p = "/"
	}
	kp, ok := key(p)
	if !ok {
		return kp, store.Range{}, false
	}
	if withData {
		return kp, tr.t.Node(kp), true
	}
	return kp, tr.t.NodeStat(kp), true
}

// decodeNode reads a node from the rows of its keys.Node range (or of its
// keys.NodeStat range, which leaves the data out), whose begin is its
// stat key.
func decodeNode(statKey []byte, kp keys.Path, rows []store.KeyValue) (*node, []byte, error) {
	n := &node{}
	var data []byte
	var err error
	for _, kv := range rows {
		switch keys.NodeRowOf(statKey, kv.Key) {
		case keys.RowStat:
			n.rec, err = decodeRecord(kv.Value)
			if err != nil {
				return nil, nil, fmt.Errorf("stat of %s: %w", kp, err)
			}
			n.exists = true
		case keys.RowChildCounts:
			n.counts = decodeCounts(kv.Value)
		case keys.RowPzxid:
			if len(kv.Value) == 10 {
				copy(n.pzxid.stamp[:], kv.Value)
				n.hasPz = true
			}
		default:
			data = append(data, kv.Value...)
		}
	}
	if n.exists && !n.rec.dataNull && data == nil {
		data = []byte{}
	}
	return n, data, nil
}

// readable reads p (with its data if withData), which must exist and be
// readable by a.
func (tr *Tree) readable(r store.Reader, a Auth, p string, withData bool) (*node, []byte, error) {
	n, data, err := tr.readNode(r, p, withData)
	if err != nil {
		return nil, nil, err
	}
	if !n.exists {
		return nil, nil, ErrNoNode
	}
	if !a.allowed(n.rec.acl, PermRead) {
		return nil, nil, ErrNoAuth
	}
	return n, data, nil
}

func readZxid(r store.Reader) (int64, error) {
	rv, err := r.GetReadVersion().Get()
	return ReadZxid(rv), err
}

var noStamp store.Versionstamp

// GetData returns p's data and Stat.
func (tr *Tree) GetData(ctx context.Context, a Auth, p string) (Read, error) {
	return store.ReadTransact(ctx, tr.db, func(r store.Reader) (Read, error) {
		return tr.getData(r, a, p)
	})
}

func (tr *Tree) getData(r store.Reader, a Auth, p string) (Read, error) {
	n, data, err := tr.readable(r, a, p, true)
	if err != nil {
		return Read{}, err
	}
	z, err := readZxid(r)
	if err != nil {
		return Read{}, err
	}
	rd := Read{Data: data, Stat: n.stat(noStamp), Zxid: z}
	return rd, tr.withQuotaStats(r, p, &rd, true)
}

// Exists returns p's Stat.
func (tr *Tree) Exists(ctx context.Context, a Auth, p string) (Read, error) {
	return store.ReadTransact(ctx, tr.db, func(r store.Reader) (Read, error) {
		return tr.exists(r, a, p)
	})
}

func (tr *Tree) exists(r store.Reader, a Auth, p string) (Read, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return Read{}, ErrBadArguments
	}
	n, _, err := tr.readNode(r, p, false)
	if err != nil {
		return Read{}, err
	}
	z, err := readZxid(r)
	if err != nil {
		return Read{}, err
	}
	if !n.exists {
		return Read{Zxid: z}, ErrNoNode
	}
	if !a.allowed(n.rec.acl, PermRead) {
		return Read{Zxid: z}, ErrNoAuth
	}
	rd := Read{Stat: n.stat(noStamp), Zxid: z}
	return rd, tr.withQuotaStats(r, p, &rd, false)
}

// GetChildren returns p's children's names (unordered, as ZooKeeper's)
// and p's Stat, read in one transaction unless the listing outgrows it
// (listChildren).
func (tr *Tree) GetChildren(ctx context.Context, a Auth, p string) (Read, error) {
	rd, _, err := tr.listChildren(ctx, a, p)
	return rd, err
}

// listChildren reads p's Stat and its children's names with scan: all in
// one transaction, a consistent state at the reply's zxid, unless
// reading them takes longer than the read budget. Then the rest of the
// names are read in further transactions, each page consistent; the
// whole is every child that existed throughout, and any that was created
// or deleted meanwhile, or not; the Stat (numChildren) is the first
// transaction's, the zxid the last's (docs/fdb.md). rv0 is the first
// transaction's read version.
func (tr *Tree) listChildren(ctx context.Context, a Auth, p string) (rd Read, rv0 int64, err error) {
	if p == "" {
		p = "/"
	}
	var n *node
	cached, haveCached := tr.kids.get(p)
	var cachedRV int64
	first := func(r store.Reader) error {
		var err error
		n, _, err = tr.readable(r, a, p, false)
		if err != nil || !haveCached || tokenOf(n) != cached.token {
			return err
		}
		// The children are those listed before (childcache.go): the scan
		// issued with this read is left unread.
		cachedRV, err = r.GetReadVersion().Get()
		if err != nil {
			return err
		}
		return errChildrenCached
	}
	kp, _ := key(p) // a path too long is no node: first fails
	parse := tr.t.ChildNames(kp)
	all := tr.t.Children(kp)
	// A listing starts at the first child the last one found, and keeps
	// what it finds there if that is as many children as the node has
	// (numChildren, read in the same transaction): then no child sorts
	// before it. The deleted children that sort before it, which the
	// storage keeps for a while, are not stepped over: a lock recipe's
	// waiters list a parent whose deleted lock nodes all sort before the
	// live ones. Otherwise the listing starts again from the beginning.
	rg := all
	if haveCached && bytes.Compare(cached.floor, all.Begin) > 0 && bytes.Compare(cached.floor, all.End) < 0 {
		rg.Begin = cached.floor
	}
	var names []string
	var floor []byte
	var rv int64
	for {
		names, floor = []string{}, nil
		rv0, rv, err = tr.scan(ctx, []store.Range{rg}, first, func(k []byte) error {
			if floor == nil {
				floor = bytes.Clone(k)
			}
			name, err := parse(k)
			names = append(names, name)
			return err
		})
		if errors.Is(err, errChildrenCached) {
			return Read{Children: slices.Clone(cached.names), Stat: n.stat(noStamp), Zxid: ReadZxid(cachedRV)}, cachedRV, nil
		}
		if err != nil {
			return Read{}, 0, err
		}
		if bytes.Equal(rg.Begin, all.Begin) {
			break
		}
		if rv0 == rv && len(names) == int(numChildren(n.counts)) {
			tr.kids.floorHits.Add(1)
			break
		}
		rg = all
	}
	if floor == nil && !bytes.Equal(rg.Begin, all.Begin) {
		floor = rg.Begin // none after the floor, and none before it
	}
	if rv0 == rv {
		// Read in one transaction, the names with the node's token.
		tr.kids.put(p, tokenOf(n), names, floor)
	}
	return Read{Children: names, Stat: n.stat(noStamp), Zxid: ReadZxid(rv)}, rv0, nil
}

// listPage is how many keys one range read of a long listing returns.
const listPage = 10_000

// scan reads the keys of rs, in order, calling each for every key. It
// reads in one read transaction while it can: first (if not nil) runs in
// it before the scan, and its error ends the scan. When a transaction has
// read for longer than the read budget, or a page of it fails with
// transaction_too_old (its read version left FDB's 5-second window), the
// transaction ends there and the rest is read in a new one from the key
// after the last one read: a listing of any length completes, and a
// short one is one consistent read. each sees only the keys of
// transactions that succeeded, once. It returns the read versions of the
// first and the last transaction.
func (tr *Tree) scan(ctx context.Context, rs []store.Range, first func(store.Reader) error, each func(k []byte) error) (rv0, rv int64, err error) {
	type progress struct {
		keys [][]byte
		at   int    // the range being read
		from []byte // where its rest begins
		rv   int64
	}
	cur := progress{at: 0}
	if len(rs) > 0 {
		cur.from = rs[0].Begin
	}
	firstTx := true
	for {
		next, err := store.ReadTransact(ctx, tr.db, func(r store.Reader) (progress, error) {
			start := time.Now()
			p := progress{at: cur.at, from: cur.from}
			pages := 0
			page := func() store.RangeResult {
				return r.GetRange(store.Range{Begin: p.from, End: rs[p.at].End}, store.RangeOptions{Limit: listPage, Mode: store.StreamingWantAll})
			}
			// The first page is read together with first's reads: one
			// round trip for a short listing.
			var pending store.RangeResult
			if p.at < len(rs) {
				pending = page()
			}
			if firstTx && first != nil {
				if err := first(r); err != nil {
					return p, err
				}
			}
			rv, err := r.GetReadVersion().Get()
			if err != nil {
				return p, err
			}
			p.rv = rv
			for p.at < len(rs) {
				if pending == nil {
					pending = page()
				}
				rows, err := pending.GetSlice()
				pending = nil
				if errors.Is(err, store.ErrTransactionTooOld) && pages > 0 {
					return p, nil // out of the window: the rest in a new transaction
				}
				if err != nil {
					return p, err
				}
				pages++
				for _, kv := range rows {
					p.keys = append(p.keys, kv.Key)
				}
				if len(rows) < listPage {
					p.at++
					if p.at < len(rs) {
						p.from = rs[p.at].Begin
					}
				} else {
					p.from = store.KeyAfter(rows[len(rows)-1].Key)
				}
				if time.Since(start) > tr.opts.ReadBudget {
					return p, nil
				}
			}
			return p, nil
		})
		if err != nil {
			return 0, 0, err
		}
		if firstTx {
			rv0 = next.rv
		}
		firstTx = false
		for _, k := range next.keys {
			if err := each(k); err != nil {
				return 0, 0, err
			}
		}
		cur = progress{at: next.at, from: next.from, rv: next.rv}
		if cur.at >= len(rs) {
			return rv0, cur.rv, nil
		}
	}
}

func (tr *Tree) getChildren(r store.Reader, a Auth, p string) (Read, error) {
	n, _, err := tr.readable(r, a, p, false)
	if err != nil {
		return Read{}, err
	}
	names, err := tr.children(r, p)
	if err != nil {
		return Read{}, err
	}
	z, err := readZxid(r)
	return Read{Children: names, Stat: n.stat(noStamp), Zxid: z}, err
}

// errSplit: a listing outgrew one transaction (Options.ReadBudget): the
// caller reads it with scan instead.
var errSplit = errors.New("znode: listing longer than one transaction")

// getChildrenWithin is getChildren in pages that gives up with errSplit
// once it has read for longer than the read budget since start, or when a
// page after the first fails with transaction_too_old.
func (tr *Tree) getChildrenWithin(r store.Reader, a Auth, p string, start time.Time) (Read, error) {
	if p == "" {
		p = "/"
	}
	n, _, err := tr.readable(r, a, p, false)
	if err != nil {
		return Read{}, err
	}
	kp, _ := key(p)
	parse := tr.t.ChildNames(kp)
	rg := tr.t.Children(kp)
	names := []string{}
	for page := 0; ; page++ {
		rows, err := r.GetRange(rg, store.RangeOptions{Limit: listPage, Mode: store.StreamingWantAll}).GetSlice()
		if errors.Is(err, store.ErrTransactionTooOld) && page > 0 {
			return Read{}, errSplit
		}
		if err != nil {
			return Read{}, err
		}
		for _, kv := range rows {
			name, err := parse(kv.Key)
			if err != nil {
				return Read{}, err
			}
			names = append(names, name)
		}
		if len(rows) < listPage {
			break
		}
		if time.Since(start) > tr.opts.ReadBudget {
			return Read{}, errSplit
		}
		rg.Begin = store.KeyAfter(rows[len(rows)-1].Key)
	}
	z, err := readZxid(r)
	return Read{Children: names, Stat: n.stat(noStamp), Zxid: z}, err
}

func (tr *Tree) children(r store.Reader, p string) ([]string, error) {
	if p == "" {
		p = "/"
	}
	kp, _ := key(p)
	rows, err := r.GetRange(tr.t.Children(kp), store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(rows))
	parse := tr.t.ChildNames(kp)
	for _, kv := range rows {
		name, err := parse(kv.Key)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// GetACL returns p's ACL and Stat; it needs READ or ADMIN, and without
// ADMIN digest ids come back as "user:x".
func (tr *Tree) GetACL(ctx context.Context, a Auth, p string) (Read, error) {
	return store.ReadTransact(ctx, tr.db, func(r store.Reader) (Read, error) {
		n, _, err := tr.readNode(r, p, false)
		if err != nil {
			return Read{}, err
		}
		if !n.exists {
			return Read{}, ErrNoNode
		}
		admin := a.allowed(n.rec.acl, PermAdmin)
		if !admin && !a.allowed(n.rec.acl, PermRead) {
			return Read{}, ErrNoAuth
		}
		z, err := readZxid(r)
		return Read{ACL: visibleACL(n.rec.acl, admin), Stat: n.stat(noStamp), Zxid: z}, err
	})
}

// GetAllChildrenNumber counts p's descendants (not p): one key each in
// the children index (keys.Tenant.Descendants), read with scan, so in one
// transaction (an exact count at the reply's zxid) unless the read
// outgrows it; then descendants created or deleted during the count may
// be counted or not (docs/fdb.md).
func (tr *Tree) GetAllChildrenNumber(ctx context.Context, a Auth, p string) (Read, error) {
	if p == "" {
		p = "/"
	}
	first := func(r store.Reader) error {
		_, _, err := tr.readable(r, a, p, false)
		return err
	}
	kp, _ := key(p) // a path too long is no node: first fails
	count := int32(0)
	_, rv, err := tr.scan(ctx, tr.t.Descendants(kp), first, func([]byte) error {
		count++
		return nil
	})
	if err != nil {
		return Read{}, err
	}
	return Read{Count: count, Zxid: ReadZxid(rv)}, nil
}

// GetEphemerals returns the session's ephemeral nodes whose path starts
// with prefix (a plain string prefix; "", blank or "/" means all).
func (tr *Tree) GetEphemerals(ctx context.Context, session int64, prefix string) (Read, error) {
	return store.ReadTransact(ctx, tr.db, func(r store.Reader) (Read, error) {
		paths, err := tr.ephemerals(r, session)
		if err != nil {
			return Read{}, err
		}
		all := strings.TrimSpace(prefix) == "" || prefix == "/"
		out := []string{} // a reply's list is empty, never null
		for _, p := range paths {
			if all || strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		z, err := readZxid(r)
		return Read{Children: out, Zxid: z}, err
	})
}

// EphemeralCount counts the tenant's ephemeral nodes, those of every
// session (ZooKeeper's DataTree.getEphemeralsCount; container and TTL
// nodes are not ephemeral). It reads one key per ephemeral node, the
// ephemeral index (keys.Tenant.AllEphemerals), with scan: an exact count
// in one transaction unless the read outgrows it, as for
// GetAllChildrenNumber. Its cost grows with the ephemeral nodes: callers
// polling it bound how often.
func (tr *Tree) EphemeralCount(ctx context.Context) (int64, error) {
	var count int64
	_, _, err := tr.scan(ctx, []store.Range{tr.t.AllEphemerals()}, nil, func([]byte) error {
		count++
		return nil
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}

func (tr *Tree) ephemerals(r store.Reader, session int64) ([]string, error) {
	rows, err := r.GetRange(tr.t.Ephemerals(session), store.RangeOptions{Mode: store.StreamingWantAll}).GetSlice()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range rows {
		_, p, err := tr.t.ParseEphemeral(kv.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, p.String())
	}
	return out, nil
}

// ReadOp is one op of a multiRead: GetData or GetChildren of Path.
type ReadOp struct {
	Path     string
	Children bool
}

// MultiRead runs ops against one state; each succeeds or fails on its own.
func (tr *Tree) MultiRead(ctx context.Context, a Auth, ops []ReadOp) ([]Read, []error, int64, error) {
	type out struct {
		reads []Read
		errs  []error
		zxid  int64
	}
	o, err := store.ReadTransact(ctx, tr.db, func(r store.Reader) (out, error) {
		o := out{reads: make([]Read, len(ops)), errs: make([]error, len(ops))}
		r = tr.prefetchNodes(r, ops)
		for i, op := range ops {
			var rd Read
			var err error
			if op.Children {
				rd, err = tr.getChildren(r, a, op.Path)
			} else {
				rd, err = tr.getData(r, a, op.Path)
			}
			var se store.Error
			if errors.As(err, &se) {
				return o, err
			}
			o.reads[i], o.errs[i] = rd, err
		}
		z, err := readZxid(r)
		o.zxid = z
		return o, err
	})
	return o.reads, o.errs, o.zxid, err
}

// ReadVersion fetches a read version: at least the version of every
// commit that finished before it was asked for.
func (tr *Tree) ReadVersion(ctx context.Context) (int64, error) {
	return store.ReadTransact(ctx, tr.db, func(r store.Reader) (int64, error) {
		return r.GetReadVersion().Get()
	})
}

// Sync returns the zxid of the newest state: a read version taken now
// covers every commit acknowledged before.
func (tr *Tree) Sync(ctx context.Context) (int64, error) {
	rv, err := tr.ReadVersion(ctx)
	return ReadZxid(rv), err
}
