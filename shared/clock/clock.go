// Package clock is the cluster's cooperative second tick (DESIGN §4).
//
// The tick is an int64 under one key (8 bytes, little-endian; absent is 0).
// Every participant runs a Ticker: in one transaction it reads the tick c
// (a serializable read), waits one interval, writes c+1 and commits. Of the
// participants that read c, the first to commit wins; the others fail with
// not_committed (1020), because c changed after their read, and start over
// from c+1. So the clock advances once per interval while any participant
// runs, and stops when none does. Expiry and every other timeout of the
// layer is counted in ticks, never in a host's wall clock.
//
// Now reads the tick; WaitAfter waits, with a store watch, for it to pass a
// value. Both use only the store contract, on any engine. See docs/clock.md.
package clock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/store"
)

// DefaultInterval is the length of a tick.
const DefaultInterval = time.Second

// MaxInterval bounds Options.Interval: the tick transaction holds its read
// version for one interval, and FoundationDB fails transactions older than
// about 5 s (transaction_too_old).
const MaxInterval = 4 * time.Second

// ErrMalformed is returned when the clock key holds something other than an
// 8-byte little-endian integer.
var ErrMalformed = errors.New("clock: tick is not an 8-byte little-endian integer")

// Encode returns the stored form of a tick.
func Encode(tick int64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), uint64(tick))
}

// Decode reads a stored tick; an absent value (nil) is tick 0. It fails
// with ErrMalformed.
func Decode(v []byte) (int64, error) {
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: %d bytes", ErrMalformed, len(v))
	}
	return int64(binary.LittleEndian.Uint64(v)), nil
}

// Options configure a Ticker. A zero field means the default.
type Options struct {
	// Key is the clock key. Required.
	Key []byte
	// StampKey, if set, is where each tick transaction also records the
	// tick it writes and its own commit's versionstamp (ReadStamp).
	StampKey []byte
	// Interval is the length of a tick: DefaultInterval unless set, at
	// most MaxInterval. Tests use shorter ones.
	Interval time.Duration
	// Logger receives the ticker's logs; nil means none.
	Logger *zap.Logger
	// Registerer registers the ticker's metrics; nil leaves them
	// unregistered. One Ticker per registry.
	Registerer prometheus.Registerer
}

// Ticker is one participant of the cooperative tick. Run it once; its
// methods are safe for concurrent use.
type Ticker struct {
	db       store.DB
	key      []byte
	stampKey []byte
	interval time.Duration
	log      *zap.Logger
	metrics  *metrics

	mu sync.Mutex
	// seen is the newest tick this participant read or wrote, and seenAt
	// when it first learned it: after the commit that wrote it, so the
	// next tick may commit at seenAt+interval at the earliest. known says
	// whether it has read the clock yet: a fresh store's clock reads 0,
	// and the intervals it stands still from then on count as missed too.
	seen   int64
	seenAt time.Time
	known  bool
}

// NewTicker returns a participant ticking the clock at opts.Key in db.
func NewTicker(db store.DB, opts Options) *Ticker {
	t := &Ticker{
		db:       db,
		key:      append([]byte(nil), opts.Key...),
		stampKey: append([]byte(nil), opts.StampKey...),
		interval: opts.Interval,
		log:      opts.Logger,
		seenAt:   time.Now(),
	}
	if t.interval == 0 {
		t.interval = DefaultInterval
	}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	t.log = t.log.Named("clock")
	t.metrics = newMetrics(opts.Registerer, t.lag)
	return t
}

// Run ticks the clock until ctx is done, then returns nil. It starts no
// goroutines. It fails at once if the options are invalid; errors of
// single ticks are logged and retried.
//
// A commit in flight when ctx ends may, on FoundationDB, still land after
// Run returns (a cancelled commit's outcome is unknown); it is one tick.
func (t *Ticker) Run(ctx context.Context) error {
	if len(t.key) == 0 {
		return errors.New("clock: no key")
	}
	if t.interval < 0 || t.interval > MaxInterval {
		return fmt.Errorf("clock: interval %v outside (0, %v]", t.interval, MaxInterval)
	}
	t.log.Info("ticker started", zap.Duration("interval", t.interval))
	defer t.log.Info("ticker stopped")
	for ctx.Err() == nil {
		if err := t.tick(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("tick failed", zap.Error(err))
			sleepUntil(ctx, time.Now().Add(t.interval))
		}
	}
	return nil
}

// tick runs the tick transaction until it commits (a tick won) or
// conflicts (a tick lost to another participant: the caller starts over
// with a fresh transaction, and so with no backoff, since the next attempt
// waits for the next tick anyway). Other retryable errors are retried as
// OnError says; the rest are returned.
func (t *Ticker) tick(ctx context.Context) error {
	tx, err := t.db.CreateTransaction(ctx)
	if err != nil {
		return err
	}
	defer tx.Close()
	for {
		next, err := t.attempt(ctx, tx)
		if err == nil {
			if err = tx.Commit(); err == nil {
				t.won(next)
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if store.Code(err) == store.ErrNotCommitted.Code {
			t.metrics.lost.Inc()
			return nil
		}
		var se store.Error
		if !errors.As(err, &se) {
			return err
		}
		if err := tx.OnError(err); err != nil {
			return err
		}
		// Retrying, also after commit_unknown_result (1021), which may
		// have committed c+1. That is safe because the retry re-reads the
		// clock: if c+1 was applied it reads c+1, learns it now (after
		// that commit), and waits a whole interval before writing c+2, so
		// the clock never advances twice within an interval; if it was
		// not applied it reads c again and writes c+1. The retry never
		// writes a value computed before the failed commit.
	}
}

// attempt is the body of the tick transaction: read c, wait until one
// interval after this participant learned c, write c+1. It returns c+1.
func (t *Ticker) attempt(ctx context.Context, tx store.Tx) (int64, error) {
	v, err := tx.Get(t.key).Get()
	if err != nil {
		return 0, err
	}
	c, err := Decode(v)
	if err != nil {
		return 0, err
	}
	// c was committed before this read returned, so seenAt(c) is after
	// c's commit, and c+1 commits at least one interval after c. The read
	// conflict on the key guarantees that c is still the tick when c+1
	// commits.
	if err := sleepUntil(ctx, t.observe(c).Add(t.interval)); err != nil {
		return 0, err
	}
	WriteTick(tx, t.key, t.stampKey, c+1)
	return c + 1, nil
}

// WriteTick sets the clock at key to tick in tx and, unless stampKey is
// empty, records at stampKey the tick and tx's commit versionstamp, as a
// Ticker does each tick.
func WriteTick(tx store.Tx, key, stampKey []byte, tick int64) {
	tx.Set(key, Encode(tick))
	if len(stampKey) > 0 {
		tx.SetVersionstampedValue(stampKey, stampTemplate(tick))
	}
}

// observe records that the clock reads c and returns when this participant
// first learned c.
func (t *Ticker) observe(c int64) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.known:
		t.seen, t.seenAt, t.known = c, time.Now(), true
	case c > t.seen:
		t.advanced(c, time.Now())
	case c < t.seen:
		// Never in a healthy cluster: the key was rewritten or restored.
		t.log.Warn("clock went back", zap.Int64("tick", c), zap.Int64("seen", t.seen))
		t.seen, t.seenAt = c, time.Now()
	}
	return t.seenAt
}

// won records a committed tick.
func (t *Ticker) won(tick int64) {
	t.mu.Lock()
	t.advanced(tick, time.Now())
	t.mu.Unlock()
	t.metrics.won.Inc()
	t.log.Debug("tick", zap.Int64("tick", tick))
}

// advanced records, under mu, that the clock moved forward to c at now,
// and counts the whole intervals since the last advance this participant
// saw in which the clock did not move: ticks that no participant won
// (all stopped, FoundationDB recovering or unreachable, or every tick
// transaction failing). A participant that was itself cut off sees the
// clock jump by the ticks the others won meanwhile, and counts none of
// those.
func (t *Ticker) advanced(c int64, now time.Time) {
	if t.known {
		elapsed := int64(now.Sub(t.seenAt) / t.interval)
		if missed := elapsed - (c - t.seen); missed > 0 {
			t.metrics.missed.Add(float64(missed))
		}
	}
	t.seen, t.seenAt, t.known = c, now, true
}

// lag is the time since this participant last saw the clock advance.
func (t *Ticker) lag() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return time.Since(t.seenAt).Seconds()
}

// sleepUntil waits until deadline or until ctx is done (ctx.Err()).
func sleepUntil(ctx context.Context, deadline time.Time) error {
	d := time.Until(deadline)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// Stamp is what a tick transaction records beside the tick (Options.
// StampKey): the tick it wrote and the version it committed at. A read
// version below Version reads a tick below Tick.
type Stamp struct {
	Tick    int64
	Version int64
}

// stampLen is a stamp's stored length: the tick, 8 bytes little-endian,
// then the 10-byte versionstamp.
const stampLen = 8 + 10

// stampTemplate is the SetVersionstampedValue argument that records tick
// with the transaction's versionstamp.
func stampTemplate(tick int64) []byte {
	b := append(Encode(tick), store.IncompleteVersionstamp[:]...)
	return store.AppendStampOffset(b, 8)
}

// ReadStamp reads the clock at key and the stamp at stampKey in r (a
// transaction's Snapshot() where it must not conflict with ticks). ok is
// false when the stamp is not the current tick's: absent (no ticker
// records one yet) or older (the tick was written by a participant that
// records none, or set by hand).
func ReadStamp(r store.Reader, key, stampKey []byte) (tick int64, stamp Stamp, ok bool, err error) {
	tf := r.Get(key)
	sf := r.Get(stampKey)
	v, err := tf.Get()
	if err != nil {
		return 0, Stamp{}, false, err
	}
	if tick, err = Decode(v); err != nil {
		return 0, Stamp{}, false, err
	}
	sv, err := sf.Get()
	if err != nil {
		return 0, Stamp{}, false, err
	}
	if len(sv) != stampLen {
		return tick, Stamp{}, false, nil
	}
	stamp.Tick, _ = Decode(sv[:8])
	var vs store.Versionstamp
	copy(vs[:], sv[8:])
	stamp.Version = vs.Version()
	return tick, stamp, stamp.Tick == tick, nil
}

// Now returns the current tick of the clock at key.
func Now(ctx context.Context, db store.DB, key []byte) (int64, error) {
	return store.ReadTransact(ctx, db, func(r store.Reader) (int64, error) {
		v, err := r.Get(key).Get()
		if err != nil {
			return 0, err
		}
		return Decode(v)
	})
}

// EachTick calls fn with each new tick of the clock at key, in order,
// until ctx ends. Ticks that pass while fn runs are skipped: fn gets the
// newest. If waiting for the clock fails, waitFailed is told and EachTick
// tries again a second later. fn runs on the caller's goroutine.
func EachTick(ctx context.Context, db store.DB, key []byte, fn func(tick int64), waitFailed func(error)) {
	var tick int64
	for {
		next, err := WaitAfter(ctx, db, key, tick)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			waitFailed(err)
			if sleepUntil(ctx, time.Now().Add(time.Second)) != nil {
				return
			}
			continue
		}
		tick = next
		fn(tick)
	}
}

// WaitAfter waits until the clock at key is past tick and returns its
// value then (which may be more than tick+1 if the caller was slow). It
// waits with a store watch on the key, not by polling. It returns
// ctx.Err() if ctx ends first.
func WaitAfter(ctx context.Context, db store.DB, key []byte, tick int64) (int64, error) {
	type state struct {
		now int64
		w   store.Watch
	}
	for {
		s, err := store.Transact(ctx, db, func(tx store.Tx) (state, error) {
			v, err := tx.Get(key).Get()
			if err != nil {
				return state{}, err
			}
			now, err := Decode(v)
			if err != nil || now > tick {
				return state{now: now}, err
			}
			// Armed at the read version by the (read-only) commit, so a
			// tick committed after the read fires it.
			return state{now: now, w: tx.Watch(key)}, nil
		})
		if err != nil {
			return 0, err
		}
		if s.w == nil {
			return s.now, nil
		}
		if err := s.w.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if !store.IsRetryable(err) {
				return 0, fmt.Errorf("watch clock: %w", err)
			}
		}
	}
}
