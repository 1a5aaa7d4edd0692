package zkserver

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/keys"
	"zkfdb/shared/znode"
)

// storeCountTTL bounds how often srvr, stat, mntr and a metrics scrape
// count what is in the store, and storeCountBudget how long one count
// may take: the node and ephemeral counts are scans of the whole tree's
// indexes, the watch count a read per connection here, and a monitoring
// poll must not load the store.
const (
	storeCountTTL    = 30 * time.Second
	storeCountBudget = 2 * time.Second
)

// watchCountReaders bounds the connections whose watches one watch count
// reads at once: each is a read transaction of its own.
const watchCountReaders = 8

// countCache keeps one count read from the store, so that it is read at
// most once per TTL however many ask. It is safe for concurrent use.
type countCache struct {
	// mu makes one count at a time. A caller waits for another's count
	// at most that count's budget, which ends before its own (it began
	// earlier with the same budget): the wait does not overrun it.
	mu      sync.Mutex
	counted time.Time // when n was counted; zero: never
	n       int64
}

// get returns the count, read with count unless it was read within ttl.
// When count fails (or ctx ends) it returns the error, and as n the last
// count, -1 if there was none.
func (cc *countCache) get(ctx context.Context, ttl time.Duration, count func(context.Context) (int64, error)) (int64, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.counted.IsZero() && time.Since(cc.counted) < ttl {
		return cc.n, nil
	}
	n, err := count(ctx)
	if err != nil {
		if cc.counted.IsZero() {
			return -1, err
		}
		return cc.n, err
	}
	cc.n, cc.counted = n, time.Now()
	return n, nil
}

// storeCount is one count of storeCounts: n, or err when it could not
// be read (n then the last count, -1 if none).
type storeCount struct {
	n   int64
	err error
}

// storeCounts are the counts mntr and the gauges of the same names show
// (ZooKeeper's znode_count, watch_count, ephemerals_count).
type storeCounts struct {
	nodes, watches, ephemerals storeCount
}

// storeCounts reads the counts, each at most every s.countTTL, together
// within ctx.
func (s *Server) storeCounts(ctx context.Context) storeCounts {
	var out storeCounts
	var wg sync.WaitGroup
	read := func(into *storeCount, cc *countCache, count func(context.Context) (int64, error)) {
		wg.Go(func() {
			into.n, into.err = cc.get(ctx, s.countTTL, count)
		})
	}
	read(&out.nodes, &s.nodeCount, s.countNodes)
	read(&out.watches, &s.watchCount, s.countWatches)
	read(&out.ephemerals, &s.ephemeralCount, s.tree.EphemeralCount)
	wg.Wait()
	for name, c := range map[string]storeCount{"nodes": out.nodes, "watches": out.watches, "ephemerals": out.ephemerals} {
		if c.err != nil {
			s.log.Debug("counting for the monitoring words or metrics failed", zap.String("count", name), zap.Error(c.err))
		}
	}
	return out
}

// countNodes counts the tree's nodes, the root included.
func (s *Server) countNodes(ctx context.Context) (int64, error) {
	rd, err := s.tree.GetAllChildrenNumber(ctx, znode.Auth{}, "/")
	if err != nil {
		return 0, err
	}
	return int64(rd.Count) + 1, nil
}

// countWatches counts the watches of the connections here, as
// ZooKeeper's watch_count counts a server's: its data-watch table (getData
// and exists, persistent and recursive watches) and its child-watch table
// (getChildren and persistent watches), one per path and connection in
// each. A persistent watch is in both tables, so it counts twice; a data
// and a recursive watch of one path by one connection count once.
func (s *Server) countWatches(ctx context.Context) (int64, error) {
	wconns := s.watchConns()
	counts := make([]int64, len(wconns))
	errs := make([]error, len(wconns))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(watchCountReaders, len(wconns)) {
		wg.Go(func() {
			for i := range next {
				watches, err := s.tree.ConnWatches(ctx, wconns[i])
				if err != nil {
					errs[i] = err
					continue
				}
				data, child := map[string]bool{}, map[string]bool{}
				for _, w := range watches {
					if w.Kind != keys.WatchChild {
						data[w.Path] = true
					}
					if w.Kind == keys.WatchChild || w.Kind == keys.WatchPersistent {
						child[w.Path] = true
					}
				}
				counts[i] = int64(len(data) + len(child))
			}
		})
	}
	for i := range wconns {
		next <- i
	}
	close(next)
	wg.Wait()
	var total int64
	for i, n := range counts {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += n
	}
	return total, nil
}

// The gauges storeCollector exports, under ZooKeeper's names.
var (
	znodeCountDesc = prometheus.NewDesc("znode_count",
		"Nodes in the tree, the root included (ZooKeeper's name).", nil, nil)
	watchCountDesc = prometheus.NewDesc("watch_count",
		"Watches of the connections to this layerd, per path and connection in ZooKeeper's data and child watch tables (ZooKeeper's name).", nil, nil)
	ephemeralsCountDesc = prometheus.NewDesc("ephemerals_count",
		"Ephemeral nodes in the tree, of every session (ZooKeeper's name).", nil, nil)
)

// storeCollector exports the store counts at scrape time. A count that
// fails or takes longer than storeCountBudget is left out of the scrape
// rather than exported stale or wrong.
type storeCollector struct{ s *Server }

func (sc storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- znodeCountDesc
	ch <- watchCountDesc
	ch <- ephemeralsCountDesc
}

func (sc storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := sc.s.monitorCtx(storeCountBudget)
	defer cancel()
	counts := sc.s.storeCounts(ctx)
	for _, g := range []struct {
		desc  *prometheus.Desc
		count storeCount
	}{
		{znodeCountDesc, counts.nodes},
		{watchCountDesc, counts.watches},
		{ephemeralsCountDesc, counts.ephemerals},
	} {
		if g.count.err == nil {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.count.n))
		}
	}
}
