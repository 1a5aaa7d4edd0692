package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// deletePool holds the nodes the Delete workload deletes: node k is a
// child of session k mod sessions's node, created before the phases, and
// the workers delete them in order of k, each taking the next. A run
// cannot know beforehand how many deletes its time allows, so the pool is
// filled for longer than the phases last (deleteFill); a phase that
// empties it ends early, and its ops/s are counted over its own length.
type deletePool struct {
	root     string
	sessions int
	created  int64        // nodes 0 … created-1 exist before the phases
	next     atomic.Int64 // the next node to delete
	// limit is where the running phase stops taking nodes; it is set
	// between phases, before the workers start.
	limit int64
}

// errPoolEmpty is a Delete request that found no node left for its phase:
// the worker stops, and the request is not counted.
var errPoolEmpty = errors.New("zkload: no node left to delete")

// deleteFill is how much longer than the warm-up and measured phase
// together the pool is filled for (at the phases' concurrency): deletes
// would have to be this much faster than creates to end a timed phase
// early.
const deleteFill = 1.5

// node returns the path of node k.
func (p *deletePool) node(k int64) string {
	return sessionNode(p.root, int(k%int64(p.sessions))) + "/d" + strconv.FormatInt(k, 10)
}

// take returns the next node to delete, or false when the phase has none.
func (p *deletePool) take() (string, bool) {
	k := p.next.Add(1) - 1
	if k >= p.limit {
		return "", false
	}
	return p.node(k), true
}

// fillFor fills the pool for the phases of cfg (with its defaults): for
// deleteFill times their length, and with cfg.Ops at least that many nodes
// beyond what the warm-up may take.
func (p *deletePool) fillFor(ctx context.Context, conns []*zk.Conn, cfg Config, value []byte) error {
	span := max(cfg.Warmup, 0)
	if cfg.Ops == 0 {
		span += cfg.Duration
	}
	return p.fill(ctx, conns, cfg.Depth, value, time.Now().Add(time.Duration(deleteFill*float64(span))), cfg.Ops)
}

// warmupLimit returns where the warm-up of cfg stops taking nodes: with
// cfg.Ops, before the last cfg.Ops; timed, at the warm-up's share of the
// pool, so that a warm-up with deletes much faster than creates leaves the
// measured phase its part.
func (p *deletePool) warmupLimit(cfg Config) int64 {
	if cfg.Ops > 0 {
		return p.created - cfg.Ops
	}
	return int64(float64(p.created) * cfg.Warmup.Seconds() / (cfg.Warmup + cfg.Duration).Seconds())
}

// fill creates nodes with value from depth goroutines per session until
// until has passed and at least atLeast exist. A goroutine takes a number
// only when it will create that node, so the nodes made are 0 … created-1.
func (p *deletePool) fill(ctx context.Context, conns []*zk.Conn, depth int, value []byte, until time.Time, atLeast int64) error {
	var (
		n    atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, len(conns)*depth)
	)
	for g := range errs {
		c := conns[g%len(conns)]
		wg.Go(func() {
			for ctx.Err() == nil && (time.Now().Before(until) || n.Load() < atLeast) {
				path := p.node(n.Add(1) - 1)
				if _, err := c.Create(path, value, 0, acl); err != nil {
					errs[g] = fmt.Errorf("create %s: %w", path, err)
					return
				}
			}
		})
	}
	wg.Wait()
	p.created = n.Load()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// deleteRest deletes the nodes no phase deleted, by name.
func (p *deletePool) deleteRest(ctx context.Context, conns []*zk.Conn, depth int) error {
	first := min(p.next.Load(), p.created)
	return fanOut(ctx, conns, depth, int(p.created-first), func(c *zk.Conn, i int) error {
		path := p.node(first + int64(i))
		if err := c.Delete(path, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("delete %s: %w", path, err)
		}
		return nil
	})
}
