// Package sweep is the expiry sweeper: each tick of the cluster's clock it
// expires the sessions of the expiry-index shards it owns whose expiry
// tick has passed (znode.SweepExpired), and deletes the empty containers
// and expired TTL nodes of the same shards (znode.SweepNodes). sweeperd runs one per host and
// shares the shards among its peers; with the embedded engine layerd runs
// one that owns every shard.
package sweep

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// Options configure a Sweeper. A zero field means the default.
type Options struct {
	// Root is the keyspace swept: every tenant under it.
	Root keys.Root
	// Owns reports whether this sweeper owns a shard now; nil: every shard.
	Owns func(shard int) bool
	// Local reports whether a storage server on this sweeper's host holds
	// a shard's range (FoundationDB's locality API), so that its reads
	// are served locally; nil: none known. It only feeds the metrics of
	// local reads.
	Local func(shard int) bool
	// Tick is the length of a tick of the cluster's clock (TTLs are
	// counted in it); default 1 s.
	Tick time.Duration
	// Logger receives the sweeper's logs; nil means none.
	Logger *zap.Logger
	// Registerer registers the sweeper's metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
}

// Sweeper sweeps its shards once per tick. Run it once.
type Sweeper struct {
	db   store.DB
	opts Options
	log  *zap.Logger

	expired    prometheus.Counter
	ephemerals prometheus.Counter
	stale      prometheus.Counter
	reaped     prometheus.Counter
	owned      prometheus.Gauge
	ownedLocal prometheus.Gauge
	lag        prometheus.Gauge
	shardsRead prometheus.Counter
	readLocal  prometheus.Counter

	lastFull int64 // the tick of the last sweep of every owned shard
	// lastOwned and lastOwnedLocal are the shards owned at the last
	// sweep, to log a change of ownership once.
	lastOwned, lastOwnedLocal int
}

// New returns a sweeper of db.
func New(db store.DB, opts Options) *Sweeper {
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	f := promauto.With(opts.Registerer)
	return &Sweeper{
		db: db, opts: opts, log: log.Named("sweep"),
		expired: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_sessions_expired_total", Help: "Sessions expired by this sweeper.",
		}),
		ephemerals: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_ephemerals_deleted_total", Help: "Ephemeral nodes deleted with the sessions this sweeper expired.",
		}),
		stale: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_stale_entries_total", Help: "Expiry-index entries of refreshed or closed sessions cleared.",
		}),
		reaped: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_nodes_reaped_total", Help: "Empty containers and expired TTL nodes deleted.",
		}),
		owned: f.NewGauge(prometheus.GaugeOpts{
			Name: "sweeper_shards_owned", Help: "Expiry-index shards this sweeper owns.",
		}),
		ownedLocal: f.NewGauge(prometheus.GaugeOpts{
			Name: "sweeper_shards_owned_local", Help: "Owned expiry-index shards with a replica on this sweeper's host.",
		}),
		lag: f.NewGauge(prometheus.GaugeOpts{
			Name: "sweeper_lag_ticks", Help: "Clock ticks between the newest tick and the one last swept.",
		}),
		shardsRead: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_shards_read_total", Help: "Shards whose due entries sweeps read: those the due summary marked, and every owned shard once a minute.",
		}),
		readLocal: f.NewCounter(prometheus.CounterOpts{
			Name: "sweeper_shards_read_local_total", Help: "Shard reads of sweeper_shards_read_total served by a storage server on this sweeper's host.",
		}),
	}
}

// Run sweeps the owned shards at every tick until ctx ends; it returns nil
// then. A failed sweep is logged and tried again at the next tick (the
// entries stay due).
func (s *Sweeper) Run(ctx context.Context) error {
	key := s.opts.Root.Clock()
	clock.EachTick(ctx, s.db, key, func(tick int64) {
		if err := s.Sweep(ctx, tick); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep failed; retrying next tick", zap.Int64("tick", tick), zap.Error(err))
		}
		if now, err := clock.Now(ctx, s.db, key); err == nil {
			s.lag.Set(float64(now - tick))
		}
	}, func(err error) {
		s.log.Warn("waiting for the clock failed", zap.Error(err))
	})
	return nil
}

// FullSweepEvery is how many ticks apart a sweeper reads every owned
// shard, not only those the due summary marks: entries written without a
// mark (by a layerd of an earlier version) are found that late at worst.
const FullSweepEvery = 60

// logEachExpired bounds the sessions a sweep logs one by one; the rest
// are counted in its summary line, so that a mass expiry (a layerd's
// clients all gone at once) does not flood the log.
const logEachExpired = 64

// logExpired logs, once per sweep, each session it expired (up to
// logEachExpired, with its id in ZooKeeper's hex form) and one summary
// line.
func (s *Sweeper) logExpired(tick int64, ended []znode.Ended) {
	if len(ended) == 0 {
		return
	}
	ephemerals := 0
	for i, e := range ended {
		ephemerals += e.Ephemerals
		if i < logEachExpired {
			s.log.Info("session expired", zap.String("session", fmt.Sprintf("0x%x", e.Session)),
				zap.Int64("tenant", e.Tenant), zap.Int("ephemerals", e.Ephemerals), zap.Int64("tick", tick))
		}
	}
	s.log.Info("sessions expired", zap.Int64("tick", tick), zap.Int("sessions", len(ended)),
		zap.Int("ephemerals", ephemerals), zap.Int("not_logged_one_by_one", max(0, len(ended)-logEachExpired)))
}

// Sweep expires, in each owned shard, the sessions due at tick, and
// reaps its containers and TTL nodes due. It reads the due summary and
// then only the owned shards it marks (every owned shard once every
// FullSweepEvery ticks), all in one transaction (znode.ReadDue); then it
// clears the marks of the shards it emptied.
func (s *Sweeper) Sweep(ctx context.Context, tick int64) error {
	owns := func(shard int) bool { return s.opts.Owns == nil || s.opts.Owns(shard) }
	marked, err := znode.MarkedShards(ctx, s.db, s.opts.Root, tick)
	if err != nil {
		return err
	}
	var mine, read []int
	for _, shard := range marked {
		if owns(shard) {
			mine = append(mine, shard)
		}
	}
	local := func(shard int) bool { return s.opts.Local != nil && s.opts.Local(shard) }
	owned, ownedLocal := 0, 0
	full := s.lastFull == 0 || tick-s.lastFull >= FullSweepEvery
	for shard := range keys.Shards {
		if owns(shard) {
			owned++
			if local(shard) {
				ownedLocal++
			}
			if full {
				read = append(read, shard)
			}
		}
	}
	if !full {
		read = mine
	}
	if owned != s.lastOwned || ownedLocal != s.lastOwnedLocal {
		// Ownership moved (a sweeperd joined, left or died): once per
		// change, not per tick.
		s.log.Info("expiry shards owned changed", zap.Int("from", s.lastOwned), zap.Int("to", owned),
			zap.Int("local", ownedLocal), zap.Int64("tick", tick))
		s.lastOwned, s.lastOwnedLocal = owned, ownedLocal
	}
	s.owned.Set(float64(owned))
	s.ownedLocal.Set(float64(ownedLocal))
	s.shardsRead.Add(float64(len(read)))
	for _, shard := range read {
		if local(shard) {
			s.readLocal.Inc()
		}
	}
	if len(read) == 0 {
		return nil
	}
	due, err := znode.ReadDue(ctx, s.db, s.opts.Root, read, tick)
	if err != nil {
		return err
	}
	var ended []znode.Ended
	defer func() { s.logExpired(tick, ended) }()
	for _, d := range due {
		sw, err := znode.ExpireDue(ctx, s.db, s.opts.Root, d.Sessions, tick)
		ended = append(ended, sw.Ended...)
		if err != nil {
			return err
		}
		reaped, err := znode.ReapDue(ctx, s.db, s.opts.Root, d, tick, s.opts.Tick)
		if err != nil {
			return err
		}
		s.reaped.Add(float64(reaped))
		s.expired.Add(float64(sw.Expired))
		s.ephemerals.Add(float64(sw.Ephemerals))
		s.stale.Add(float64(sw.Stale))
	}
	if full {
		s.lastFull = tick
	}
	return znode.ClearDue(ctx, s.db, s.opts.Root, mine, tick)
}
