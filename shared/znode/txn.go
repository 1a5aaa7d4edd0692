package znode

import (
	"context"
	"errors"
	"fmt"
	"math"

	"strings"
	"zkfdb/shared/clock"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// FoundationDB's limits (docs/fdb.md, "ZooKeeper's limits on
// FoundationDB"): a transaction holds at most 10 MB, keys of 10 kB and
// values of 100 kB, and lives about 5 seconds. A transaction that breaks
// one of the first three fails at commit with a code FDB does not retry;
// one that is only slow fails with transaction_too_old (1007), which FDB
// retries, and a request whose work does not fit 5 s would retry it for
// ever. Every transaction of a Tree therefore gives up after maxTooOld
// of them (bounded), and both kinds of failure become ErrTooLarge at the
// protocol's edge. Work that can grow without a bound (a session's
// ephemerals and watches, setWatches, listings of many children) is
// split across transactions instead, each well inside the limits.

// maxTooOld is how many transaction_too_old errors one request's
// transaction may meet before it is given up: a request slower than 5 s
// fails this way every time, a transient cause (a recovery, an overloaded
// storage server) once or twice.
const maxTooOld = 3

// bounded returns db whose transactions give up after maxTooOld
// transaction_too_old errors, with an error wrapping ErrTooLarge.
func bounded(db store.DB) store.DB {
	if b, ok := db.(boundedDB); ok {
		return b
	}
	return boundedDB{db}
}

type boundedDB struct{ store.DB }

func (d boundedDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return &boundedTx{Tx: tx}, nil
}

type boundedTx struct {
	store.Tx
	tooOld int
}

// HintReadOnly passes store.HintReadOnly on.
func (t *boundedTx) HintReadOnly() { store.HintReadOnly(t.Tx) }

// NoteRetry passes store.NoteRetry on.
func (t *boundedTx) NoteRetry(err error) { store.NoteRetry(t.Tx, err) }

// OnError stops the retries of a transaction that keeps outliving FDB's
// 5 s. The error it returns carries no FDB code, so the retry loop
// (store.Transact) returns it.
func (t *boundedTx) OnError(err error) error {
	if errors.Is(err, store.ErrTransactionTooOld) {
		t.tooOld++
		if t.tooOld >= maxTooOld {
			return fmt.Errorf("%w: transaction_too_old %d times (FoundationDB's 5-second transaction lifetime)", ErrTooLarge, t.tooOld)
		}
	}
	return t.Tx.OnError(err)
}

// tooLarge reports whether err says a transaction cannot be done within
// FDB's limits: too large (2101), a key or value too large (2102, 2103),
// or too slow (ErrTooLarge from bounded).
func tooLarge(err error) bool {
	switch store.Code(err) {
	case store.ErrTransactionTooLarge.Code, store.ErrKeyTooLarge.Code, store.ErrValueTooLarge.Code:
		return true
	}
	return errors.Is(err, ErrTooLarge)
}

// node is what a transaction knows of one path: loaded once, then changed
// in place by the transaction's own ops, so that the ops of a multi see
// the state left by the ones before them (the store cannot give it back:
// versionstamped values are unreadable until commit).
type node struct {
	exists bool
	rec    record
	counts uint64 // child counters (keys.ChildCounts)
	pzxid  zx
	hasPz  bool // pzxid recorded; otherwise it equals czxid
	// counted: counts and pzxid are known (read, or the node is new).
	counted bool
}

func (n *node) stat(own store.Versionstamp) Stat {
	pz := n.rec.czxid
	if n.hasPz {
		pz = n.pzxid
	}
	owner := n.rec.owner
	if !isSessionEphemeral(owner) {
		owner = 0
	}
	return Stat{
		Czxid:          n.rec.czxid.resolve(own),
		Mzxid:          n.rec.mzxid.resolve(own),
		Ctime:          n.rec.ctime,
		Mtime:          n.rec.mtime,
		Version:        n.rec.version,
		Cversion:       visibleCversion(n.counts),
		Aversion:       n.rec.aversion,
		EphemeralOwner: owner,
		DataLength:     n.rec.dataLength,
		NumChildren:    numChildren(n.counts),
		Pzxid:          pz.resolve(own),
	}
}

// txn applies ops in one store transaction.
type txn struct {
	tx    store.Tx
	t     keys.Tenant
	c     Caller
	nodes map[string]*node
	// stats of results, resolved after commit with the versionstamp
	results []pendingResult
	// changes that may fire watches, in op order (fire)
	triggers []trigger
	// the clock tick, for sweeper timers (armTimer)
	tick     int64
	tickRead bool
	timerErr error
	tickMs   int64 // the clock's tick length
	// sessionChecked: the caller's session was found alive (and owned by
	// its connection) in this transaction (checkSession).
	sessionChecked bool
	// capture is a session being closed through its connection: fire
	// keeps that session's events in captured instead of logging them.
	capture  Conn
	captured []Event
	// pre and preRange are reads issued ahead (prefetch.go), by key.
	pre      map[string]store.FutureValue
	preRange map[string]store.RangeResult
}

// pendingResult is one op's result; its Stat is resolved after commit.
type pendingResult struct {
	Path string
	snap node // the node after the op, for its Stat
	has  bool // the op's reply carries a Stat
}

func (tr *Tree) newTxn(tx store.Tx, c Caller) *txn {
	return &txn{tx: tx, t: tr.t, c: c, nodes: map[string]*node{}, tickMs: tr.opts.Tick.Milliseconds(),
		pre: map[string]store.FutureValue{}, preRange: map[string]store.RangeResult{}}
}

// key returns p as a keys.Path; a path too long for a key is no node of
// ours.
func key(p string) (keys.Path, bool) {
	kp, err := keys.NewPath(p)
	return kp, err == nil
}

// load returns what the transaction knows of p, reading it the first
// time: the stat record by a serializable read (its existence, ACL and
// versions decide ops), the child counters and pzxid by snapshot reads,
// since siblings' creates and deletes change them with blind writes that
// must not conflict with us. An op whose outcome depends on them adds
// their read conflict itself (needCounts).
func (x *txn) load(p string) (*node, error) {
	if p == "" {
		p = "/"
	}
	if n, ok := x.nodes[p]; ok {
		return n, nil
	}
	n := &node{counted: true}
	kp, ok := key(p)
	if !ok {
		x.nodes[p] = n
		return n, nil
	}
	if _, ok := x.preRange[rangeKey(x.t.NodeStat(kp))]; ok {
		// A later op of the multi reads p's counters too: its read of
		// them all, issued already, serves this one.
		return x.loadCounted(p)
	}
	b, err := x.get(x.t.Stat(kp)).Get()
	if err != nil {
		return nil, err
	}
	if b != nil {
		n.rec, err = decodeRecord(b)
		if err != nil {
			return nil, fmt.Errorf("stat of %s: %w", p, err)
		}
		n.exists, n.counted = true, false
	}
	x.nodes[p] = n
	return n, nil
}

// needCounts reads p's child counters and pzxid (once) and adds their read
// conflict: the op's outcome or reply depends on them. Ops that do not
// (a plain create under p) never read them, so they do not conflict with
// siblings' creates and deletes, which change them with blind writes.
func (x *txn) needCounts(p string) error {
	n, err := x.load(p)
	if err != nil || n.counted {
		return err
	}
	kp, _ := key(p)
	countsF := x.get(x.t.ChildCounts(kp))
	if !n.hasPz {
		// (A pzxid this transaction stamped is unreadable until commit,
		// and known: pending.)
		pb, err := x.get(x.t.Pzxid(kp)).Get()
		if err != nil {
			return err
		}
		if len(pb) == 10 {
			copy(n.pzxid.stamp[:], pb)
			n.hasPz = true
		}
	}
	cb, err := countsF.Get()
	if err != nil {
		return err
	}
	n.counts = decodeCounts(cb) // our own adds included (read-your-writes)
	n.counted = true
	return nil
}

// loadCounted is load and needCounts at once: an op on p itself whose
// reply or outcome depends on p's counters (setData, setACL, delete) reads
// p's stat, counters and pzxid, which are adjacent keys, with one range
// read instead of three point reads. It conflicts as those reads would.
func (x *txn) loadCounted(p string) (*node, error) {
	if p == "" {
		p = "/"
	}
	if _, ok := x.nodes[p]; ok {
		if err := x.needCounts(p); err != nil {
			return nil, err
		}
		return x.load(p)
	}
	kp, ok := key(p)
	if !ok {
		return x.load(p)
	}
	rg := x.t.NodeStat(kp)
	rows, err := x.getRange(rg).GetSlice()
	if err != nil {
		return nil, err
	}
	n, _, err := decodeNode(rg.Begin, kp, rows)
	if err != nil {
		return nil, err
	}
	n.counted = true
	x.nodes[p] = n
	return n, nil
}

func (x *txn) result(p string, n *node) {
	r := pendingResult{Path: p}
	if n != nil {
		r.snap, r.has = *n, true
	}
	x.results = append(x.results, r)
}

// writeStat stores n's record: with the versionstamp when its mzxid is
// this transaction's.
func (x *txn) writeStat(kp keys.Path, n *node) {
	b, stamped := n.rec.encode()
	if stamped {
		x.tx.SetVersionstampedValue(x.t.Stat(kp), b)
	} else {
		x.tx.Set(x.t.Stat(kp), b)
	}
}

// writeData stores data in p's chunks and clears the chunks of the old
// data (oldLen bytes) that the new data does not overwrite.
func (x *txn) writeData(kp keys.Path, data []byte, oldLen int32) {
	for i, chunk := range keys.SplitData(data) {
		x.tx.Set(x.t.Chunk(kp, i), chunk)
	}
	for i := keys.ChunkCount(len(data)); i < keys.ChunkCount(int(oldLen)); i++ {
		x.tx.Clear(x.t.Chunk(kp, i))
	}
}

// childChanged records a child create or delete on parent: counters by
// atomic add, pzxid by versionstamp, both blind.
func (x *txn) childChanged(parent string, n *node, delta uint64) {
	kp, _ := key(parent)
	// A read of them issued before (prefetch) would not see these
	// writes: drop it.
	delete(x.pre, string(x.t.ChildCounts(kp)))
	delete(x.pre, string(x.t.Pzxid(kp)))
	x.tx.Atomic(store.Add, x.t.ChildCounts(kp), counterParam(delta))
	x.tx.SetVersionstampedValue(x.t.Pzxid(kp), store.AppendStampOffset(make([]byte, 10), 0))
	// When the counters were not read, a later needCounts reads them with
	// this add applied (read-your-writes).
	if n.counted {
		n.counts += delta
	}
	n.pzxid, n.hasPz = zx{pending: true}, true
}

// checkSession fails a write of a session that is gone
// (ErrSessionExpired) or, when the caller names its connection, through a
// connection that no longer owns it (ErrSessionMoved). It reads the
// session's record once per transaction, serializably: a resume or an
// expiry racing the write makes one of them retry.
func (x *txn) checkSession() error {
	if x.sessionChecked {
		return nil
	}
	b, err := x.get(x.t.Session(x.c.Session)).Get()
	if err != nil {
		return err
	}
	if b == nil {
		return ErrSessionExpired
	}
	s, err := decodeSession(x.c.Session, b)
	if err != nil {
		return err
	}
	if x.c.Conn != 0 && s.Conn != x.c.Conn {
		return ErrSessionMoved
	}
	x.sessionChecked = true
	return nil
}

// armTTL writes the TTL-index entry of a TTL node just written (created,
// or its data set: both move its mtime): due when ttl ms have passed in
// clock ticks (rounded up, and one more for the tick in progress). The
// entry holds this transaction's versionstamp, which is the node's new
// mzxid: the sweeper deletes the node only if its mzxid is still that,
// so an entry left by an earlier modification is known stale without a
// wall clock.
func (x *txn) armTTL(kp keys.Path, ttlMs int64) {
	x.armTimer(func(tick int64) ([]byte, int64, int) {
		due := tick + ticksOf(ttlMs, x.tickMs) + 1
		return x.t.TTL(due, kp), due, x.t.NodeShard(kp)
	}, true)
}

// ticksOf returns ms in ticks of tickMs, rounded up.
func ticksOf(ms, tickMs int64) int64 {
	tickMs = max(tickMs, 1)
	return (ms + tickMs - 1) / tickMs
}

// splitParent returns the parent of p as ZooKeeper computes it
// (everything before the last '/', "" for the root's children).
func splitParent(p string) (string, bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 || strings.IndexByte(p, 0) >= 0 {
		return "", false
	}
	parent := p[:i]
	if parent == "" {
		parent = "/"
	}
	return parent, true
}

var protected = map[string]bool{"/": true, "/zookeeper": true, "/zookeeper/quota": true, "/zookeeper/config": true}

func (x *txn) create(op CreateOp) error {
	mode, err := createMode(op)
	if err != nil {
		return err
	}
	if mode.ephemeral {
		// The owner must be alive: an ephemeral of an expired session
		// would never be deleted. Read serializably, so that an expiry
		// racing this create makes one of them retry.
		if x.c.Session == 0 {
			return ErrSessionExpired
		}
		if err := x.checkSession(); err != nil {
			return err
		}
	}
	parentPath, ok := splitParent(op.Path)
	if !ok {
		return ErrBadArguments
	}
	acl, err := x.c.Auth.fixACL(op.ACL)
	if err != nil {
		return err
	}
	if !aclFits(acl) {
		return ErrTooLarge
	}
	parent, err := x.load(parentPath)
	if err != nil {
		return err
	}
	if !parent.exists {
		return ErrNoNode
	}
	if !x.c.Auth.allowed(parent.rec.acl, PermCreate) {
		return ErrNoAuth
	}
	p := op.Path
	if mode.sequential {
		if err := x.needCounts(parentPath); err != nil {
			return err
		}
		p += fmt.Sprintf("%010d", storedCversion(parent.counts))
		// Known only now: its record and watchers, read together.
		x.preStat(p)
		x.preWatchers(p)
	}
	if !validPath(p) {
		return ErrBadArguments
	}
	kp, ok := key(p)
	if !ok {
		return ErrBadArguments
	}
	n, err := x.load(p)
	if err != nil {
		return err
	}
	if n.exists {
		return ErrNodeExists
	}
	if isSessionEphemeral(parent.rec.owner) {
		return ErrNoChildrenForEphemerals
	}
	owner := int64(0)
	switch {
	case mode.ephemeral:
		owner = x.c.Session
	case mode.container:
		owner = containerOwner
	case mode.ttl:
		owner = int64(ttlOwnerMark | uint64(op.TTL))
	}
	*n = node{exists: true, counted: true, rec: record{
		czxid: zx{pending: true}, mzxid: zx{pending: true},
		ctime: x.c.Now, mtime: x.c.Now,
		owner:      owner,
		dataLength: int32(len(op.Data)),
		dataNull:   op.Data == nil,
		acl:        acl,
	}}
	x.writeStat(kp, n)
	x.writeData(kp, op.Data, 0) // a new node has no chunks
	if mode.ttl {
		x.armTTL(kp, op.TTL)
	}
	child, err := x.t.Child(kp)
	if err != nil {
		return ErrBadArguments
	}
	x.tx.Set(child, nil)
	if owner == x.c.Session && mode.ephemeral {
		x.tx.Set(x.t.Ephemeral(x.c.Session, kp), nil)
	}
	x.childChanged(parentPath, parent, childCreated)
	x.addTrigger(trigger{typ: EventNodeCreated, path: p, acl: acl, parent: parentPath, parentACL: parent.rec.acl})
	x.result(p, n)
	return nil
}

type mode struct {
	ephemeral, sequential, container, ttl bool
}

// createMode maps a create's flags and opcode to its mode, checking them
// in ZooKeeper's order: unknown flags, then the TTL's range.
func createMode(op CreateOp) (mode, error) {
	var m mode
	switch op.Flags {
	case 0:
	case 1:
		m.ephemeral = true
	case 2:
		m.sequential = true
	case 3:
		m.ephemeral, m.sequential = true, true
	case 4:
	case 5:
		m.ttl = true
	case 6:
		m.ttl, m.sequential = true, true
	default:
		return m, ErrBadArguments
	}
	// The opcode decides: createContainer makes a container whatever its
	// (valid) flags say, and create(1) with the container flag a plain
	// persistent node.
	if op.Container {
		m.container, m.ephemeral = true, false
	}
	if m.ttl {
		if op.TTL <= 0 || op.TTL > MaxTTL {
			return m, ErrBadArguments
		}
	} else if op.TTL >= 0 {
		return m, ErrBadArguments
	}
	return m, nil
}

func (x *txn) delete(op DeleteOp) error {
	if protected[op.Path] {
		return ErrBadArguments
	}
	parentPath, ok := splitParent(op.Path)
	if !ok {
		return ErrBadArguments
	}
	parent, err := x.load(parentPath)
	if err != nil {
		return err
	}
	if !parent.exists {
		return ErrNoNode
	}
	if !x.c.Auth.allowed(parent.rec.acl, PermDelete) {
		return ErrNoAuth
	}
	n, err := x.loadCounted(op.Path)
	if err != nil {
		return err
	}
	if !n.exists {
		return ErrNoNode
	}
	if !versionMatches(op.Version, n.rec.version) {
		return ErrBadVersion
	}
	if numChildren(n.counts) > 0 {
		return ErrNotEmpty
	}
	x.remove(op.Path, parentPath, n, parent)
	x.result(op.Path, nil)
	return nil
}

// remove deletes an existing, childless node and updates its parent.
func (x *txn) remove(p, parentPath string, n, parent *node) {
	x.addTrigger(trigger{typ: EventNodeDeleted, path: p, acl: n.rec.acl, parent: parentPath, parentACL: parent.rec.acl})
	kp, _ := key(p)
	x.tx.ClearRange(x.t.Node(kp))
	if child, err := x.t.Child(kp); err == nil {
		x.tx.Clear(child)
	}
	if isSessionEphemeral(n.rec.owner) {
		x.tx.Clear(x.t.Ephemeral(n.rec.owner, kp))
	}
	*n = node{counted: true}
	x.childChanged(parentPath, parent, childDeleted)
	if isContainer(parent.rec.owner) {
		// Maybe the container's last child: the sweeper checks at the
		// next tick (ZooKeeper's container manager, within an interval).
		x.armTimer(func(tick int64) ([]byte, int64, int) {
			pp, _ := key(parentPath)
			return x.t.Container(tick+1, pp), tick + 1, x.t.NodeShard(pp)
		}, false)
	}
}

// finish completes the transaction's writes once its ops are applied:
// it fails if a sweeper timer could not be armed, and fires the watches.
func (x *txn) finish() error {
	if x.timerErr != nil {
		return x.timerErr
	}
	return x.fire()
}

// armTimer writes the sweeper timer entry that timer returns for the
// current clock tick (read once per transaction, by snapshot: the ticker
// never conflicts), with its due tick and shard, and marks the shard due
// then; stamped, the entry's value is the transaction's versionstamp,
// else empty.
func (x *txn) armTimer(timer func(tick int64) (key []byte, due int64, shard int), stamped bool) {
	if !x.tickRead {
		b, err := x.tx.Snapshot().Get(x.t.Root().Clock()).Get()
		if err == nil {
			x.tick, err = clock.Decode(b)
		}
		if err != nil {
			x.timerErr = err
			return
		}
		x.tickRead = true
	}
	k, due, shard := timer(x.tick)
	markDue(x.tx, x.t.Root(), due, shard)
	if stamped {
		x.tx.SetVersionstampedValue(k, store.AppendStampOffset(make([]byte, 10), 0))
		return
	}
	x.tx.Set(k, nil)
}

func (x *txn) deleteContainer(op DeleteContainerOp) error {
	if protected[op.Path] {
		return ErrBadArguments
	}
	parentPath, ok := splitParent(op.Path)
	if !ok {
		return ErrBadArguments
	}
	n, err := x.loadCounted(op.Path)
	if err != nil {
		return err
	}
	if !n.exists {
		return ErrNoNode
	}
	if numChildren(n.counts) > 0 {
		return ErrNotEmpty
	}
	if isSessionEphemeral(n.rec.owner) {
		return ErrBadVersion
	}
	parent, err := x.load(parentPath)
	if err != nil {
		return err
	}
	x.remove(op.Path, parentPath, n, parent)
	x.result(op.Path, nil)
	return nil
}

// existing loads p, which must exist and allow the caller perm.
func (x *txn) existing(p string, perm int32) (*node, error) {
	return x.existingFrom(x.load, p, perm)
}

// existingCounted is existing with p's counters read (loadCounted).
func (x *txn) existingCounted(p string, perm int32) (*node, error) {
	return x.existingFrom(x.loadCounted, p, perm)
}

func (x *txn) existingFrom(load func(string) (*node, error), p string, perm int32) (*node, error) {
	n, err := load(p)
	if err != nil {
		return nil, err
	}
	if !n.exists {
		return nil, ErrNoNode
	}
	if !x.c.Auth.allowed(n.rec.acl, perm) {
		return nil, ErrNoAuth
	}
	return n, nil
}

// versionMatches is ZooKeeper's version check: −1 matches any version.
func versionMatches(want, have int32) bool { return want == -1 || want == have }

func (x *txn) setData(op SetDataOp) error {
	if !validPath(op.Path) {
		return ErrBadArguments
	}
	n, err := x.existingCounted(op.Path, PermWrite)
	if err != nil {
		return err
	}
	if !versionMatches(op.Version, n.rec.version) {
		return ErrBadVersion
	}
	kp, _ := key(op.Path)
	oldLen := n.rec.dataLength
	n.rec.version++
	n.rec.mzxid = zx{pending: true}
	n.rec.mtime = x.c.Now
	n.rec.dataLength = int32(len(op.Data))
	n.rec.dataNull = op.Data == nil
	x.writeStat(kp, n)
	x.writeData(kp, op.Data, oldLen)
	if isTTL(n.rec.owner) {
		x.armTTL(kp, int64(uint64(n.rec.owner)&^ttlOwnerMark)) // setData moves mtime
	}
	x.addTrigger(trigger{typ: EventNodeDataChanged, path: op.Path, acl: n.rec.acl})
	x.result(op.Path, n)
	return nil
}

func (x *txn) check(op CheckOp) error {
	if !validPath(op.Path) {
		return ErrBadArguments
	}
	n, err := x.existing(op.Path, PermRead)
	if err != nil {
		return err
	}
	if !versionMatches(op.Version, n.rec.version) {
		return ErrBadVersion
	}
	x.result(op.Path, nil)
	return nil
}

func (x *txn) setACL(op SetACLOp) error {
	if !validPath(op.Path) {
		return ErrBadArguments
	}
	acl, err := x.c.Auth.fixACL(op.ACL)
	if err != nil {
		return err
	}
	if !aclFits(acl) {
		return ErrTooLarge
	}
	n, err := x.existingCounted(op.Path, PermAdmin)
	if err != nil {
		return err
	}
	if !versionMatches(op.Version, n.rec.aversion) {
		return ErrBadVersion
	}
	kp, _ := key(op.Path)
	n.rec.aversion++
	n.rec.acl = acl
	x.writeStat(kp, n)
	x.result(op.Path, n)
	return nil
}

// aclFits reports whether a node's stat record can hold acl: the record
// is one FDB value (at most 100,000 bytes) and, like the event records,
// stores the ACL's count and strings with 16-bit lengths. ZooKeeper takes
// any ACL a frame can carry; a wider one is refused (ErrTooLarge), never
// stored truncated.
func aclFits(acl []ACL) bool {
	if len(acl) > math.MaxUint16 {
		return false
	}
	size := recordFixedLength + 4 // the stamp offset of a template
	for _, a := range acl {
		if len(a.ID.Scheme) > math.MaxUint16 || len(a.ID.ID) > math.MaxUint16 {
			return false
		}
		size += 4 + 2 + len(a.ID.Scheme) + 2 + len(a.ID.ID)
	}
	return size <= store.MaxValueSize
}

// validPath is ZooKeeper's PathUtils.validatePath: a leading '/', no
// trailing '/' (but "/"), no empty, "." or ".." component, and none of
// U+0000–001F, U+007F–009F, U+D800–F8FF, U+FFF0–FFFF, nor characters
// beyond the BMP (Java sees surrogates) or bad UTF-8 (U+FFFD).
func validPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, r := range p {
		// Bad UTF-8 decodes as U+FFFD, which the last range rejects.
		switch {
		case r <= 0x1f, r >= 0x7f && r <= 0x9f, r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0:
			return false
		}
	}
	return true
}
