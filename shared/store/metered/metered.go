// Package metered counts what each operation costs the store, in the
// units FoundationDB charges (DESIGN.md §8): read versions fetched, point
// and range reads issued, watches set, commits that write, and retries.
// It wraps any store.DB; a transaction is charged to the operation its
// context names (WithOp), "other" if none.
//
// The counts follow FoundationDB's client, whichever engine runs:
//
//   - a read version is fetched lazily, once per attempt, at the first
//     read, GetReadVersion or Watch, or at the commit of a transaction
//     that writes without having read; none after SetReadVersion;
//   - a point read is a Get, a range read a GetRange (batches are not
//     seen from here: a range read that needs several counts once);
//     snapshot reads count alike; reads the transaction answers from its
//     own writes count too (FDB serves them locally);
//   - a commit counts only if the attempt writes (or adds a
//     write-conflict range): FDB commits one without as a no-op, counted
//     apart (noop_commits);
//   - a retry is an OnError that lets the attempt run again, by the
//     error's FDB code (1020: a conflict).
//
// Each transaction counts in plain atomic fields and adds them to the
// Prometheus counters when it is closed.
package metered

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"zkfdb/shared/store"
)

// Other is the operation of a transaction whose context names none.
const Other = "other"

// MaxOps bounds the operations counted apart; transactions of further
// names are counted as Other, so that a label stays bounded whatever the
// callers pass.
const MaxOps = 64

type opKey struct{}

// WithOp returns ctx naming op as the operation its transactions are
// charged to. Names must come from a small fixed set (request types,
// background tasks), never from a request's data.
func WithOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// Op returns the operation ctx names, Other if none.
func Op(ctx context.Context) string {
	if op, ok := ctx.Value(opKey{}).(string); ok && op != "" {
		return op
	}
	return Other
}

// DB is a store.DB whose transactions are counted. It is safe for
// concurrent use.
type DB struct {
	store.DB
	m   *metrics
	ops sync.Map // op name → *counters
	mu  sync.Mutex
	n   int // ops stored, under mu
}

var _ store.DB = (*DB)(nil)

// New returns db counted under the metric prefix daemon ("layerd" gives
// layerd_store_commits_total, ...), registered on reg (nil: unregistered).
// Closing it closes db.
func New(db store.DB, daemon string, reg prometheus.Registerer) *DB {
	return &DB{DB: db, m: newMetrics(daemon, reg)}
}

type metrics struct {
	transactions, readVersions, watches, commits, noopCommits *prometheus.CounterVec
	reads, retries                                            *prometheus.CounterVec
}

func newMetrics(daemon string, reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: daemon + "_store_" + name, Help: help}, append([]string{"op"}, labels...))
	}
	return &metrics{
		transactions: vec("transactions_total", "Store transactions created, by the operation they serve."),
		readVersions: vec("read_versions_total", "Read versions fetched (at most one per transaction attempt; none after SetReadVersion)."),
		reads:        vec("reads_total", "Reads issued: kind get (a key) or range (a range read, however many batches).", "kind"),
		watches:      vec("watches_total", "Store watches set."),
		commits:      vec("commits_total", "Commits of transaction attempts that write, conflicted or not."),
		noopCommits:  vec("noop_commits_total", "Commits of attempts that write nothing: no-ops that cost FoundationDB nothing."),
		retries:      vec("retries_total", "Transaction attempts retried after a retryable error, by its FoundationDB code (1020: a conflict).", "code"),
	}
}

// counters are one operation's counters, resolved once.
type counters struct {
	op                                                         string
	transactions, readVersions, gets, ranges, watches, commits prometheus.Counter
	noopCommits                                                prometheus.Counter
}

func (d *DB) counters(op string) *counters {
	if c, ok := d.ops.Load(op); ok {
		return c.(*counters)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n >= MaxOps {
		op = Other
	}
	if c, ok := d.ops.Load(op); ok {
		return c.(*counters)
	}
	c := &counters{
		op:           op,
		transactions: d.m.transactions.WithLabelValues(op),
		readVersions: d.m.readVersions.WithLabelValues(op),
		gets:         d.m.reads.WithLabelValues(op, "get"),
		ranges:       d.m.reads.WithLabelValues(op, "range"),
		watches:      d.m.watches.WithLabelValues(op),
		commits:      d.m.commits.WithLabelValues(op),
		noopCommits:  d.m.noopCommits.WithLabelValues(op),
	}
	d.ops.Store(op, c)
	d.n++
	return c
}

// CreateTransaction starts a transaction charged to Op(ctx).
func (d *DB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	inner, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	t := &tx{WriteTracker: store.WriteTracker{Tx: inner}, db: d, c: d.counters(Op(ctx))}
	t.snap.t = t
	return t, nil
}

// HintReadOnly passes store.HintReadOnly on.
func (t *tx) HintReadOnly() { store.HintReadOnly(t.WriteTracker.Tx) }

// tx counts one transaction. Its reads may run on several goroutines, so
// its counts are atomic; they reach Prometheus at Close.
type tx struct {
	store.WriteTracker // whether this attempt writes
	db                 *DB
	c                  *counters
	snap               snapshot

	// This attempt's state, cleared when it is retried or reset.
	rv atomic.Bool // a read version is held (fetched or set)

	readVersions, gets, ranges, watches, commits, noopCommits atomic.Int64
	flushed                                                   atomic.Bool
}

// fetchRV counts the read version the first read of an attempt fetches.
func (t *tx) fetchRV() {
	if !t.rv.Load() && t.rv.CompareAndSwap(false, true) {
		t.readVersions.Add(1)
	}
}

func (t *tx) newAttempt() {
	t.rv.Store(false)
	t.NewAttempt()
}

func (t *tx) Get(k []byte) store.FutureValue {
	t.fetchRV()
	t.gets.Add(1)
	return t.Tx.Get(k)
}

func (t *tx) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	t.fetchRV()
	t.ranges.Add(1)
	return t.Tx.GetRange(r, o)
}

func (t *tx) GetReadVersion() store.FutureVersion {
	t.fetchRV()
	return t.Tx.GetReadVersion()
}

func (t *tx) Snapshot() store.Reader { return &t.snap }

// snapshot counts the snapshot reads of t.
type snapshot struct{ t *tx }

func (s *snapshot) Get(k []byte) store.FutureValue {
	s.t.fetchRV()
	s.t.gets.Add(1)
	return s.t.Tx.Snapshot().Get(k)
}

func (s *snapshot) GetRange(r store.Range, o store.RangeOptions) store.RangeResult {
	s.t.fetchRV()
	s.t.ranges.Add(1)
	return s.t.Tx.Snapshot().GetRange(r, o)
}

func (s *snapshot) GetReadVersion() store.FutureVersion { return s.t.GetReadVersion() }

func (t *tx) SetReadVersion(v int64) {
	t.rv.Store(true)
	t.Tx.SetReadVersion(v)
}

func (t *tx) Watch(k []byte) store.Watch {
	t.fetchRV() // the watch reads the key's value, its baseline
	t.watches.Add(1)
	return t.Tx.Watch(k)
}

func (t *tx) Commit() error {
	if t.Writes() {
		t.fetchRV() // FDB fetches one at commit for a blind write
		t.commits.Add(1)
	} else {
		t.noopCommits.Add(1)
	}
	return t.Tx.Commit()
}

func (t *tx) OnError(err error) error {
	oerr := t.Tx.OnError(err)
	if oerr == nil {
		t.newAttempt()
		t.NoteRetry(err)
	}
	return oerr
}

// NoteRetry counts a retry after err, made through OnError or by a fresh
// transaction (store.NoteRetry).
func (t *tx) NoteRetry(err error) {
	var se store.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code
	}
	t.db.m.retries.WithLabelValues(t.c.op, strconv.Itoa(code)).Inc()
}

func (t *tx) Reset() {
	t.newAttempt()
	t.Tx.Reset()
}

// Close adds the transaction's counts to the metrics.
func (t *tx) Close() {
	t.Tx.Close()
	if t.flushed.Swap(true) {
		return
	}
	c := t.c
	c.transactions.Inc()
	add(c.readVersions, &t.readVersions)
	add(c.gets, &t.gets)
	add(c.ranges, &t.ranges)
	add(c.watches, &t.watches)
	add(c.commits, &t.commits)
	add(c.noopCommits, &t.noopCommits)
}

func add(c prometheus.Counter, n *atomic.Int64) {
	if v := n.Load(); v > 0 {
		c.Add(float64(v))
	}
}
