package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"zkfdb/layerd/zkwire"
)

// worker issues one workload's requests on one session, one at a time;
// Config.Depth workers share each session.
type worker struct {
	conn     *zk.Conn
	workload Workload
	// node is the session's own node (SetData, GetData, Mixed), the
	// session's parent (Create) or the shared parent (GetChildren).
	node string
	// prefix starts the names of the nodes Create makes: distinct per
	// worker, followed by seq.
	prefix      string
	seq         int64
	value       []byte
	readPercent int
	rng         *rand.Rand
	// other is the next session's connection: it writes the nodes the
	// Watch workload watches.
	other *zk.Conn
	// lock is the lock's parent node (Lock).
	lock string
	// servers and log open Expiry's sessions; root holds its nodes.
	servers []string
	log     *zap.Logger
	root    string
	// sessionTimeout is what Session's sessions ask for.
	sessionTimeout time.Duration
	// pool holds Delete's nodes, shared by every worker.
	pool *deletePool
	// pipe is MultiRead's session, shared by the session's workers, and
	// reads its multiRead's ops.
	pipe  *pipe
	reads []zkwire.Request
}

// eventTimeout bounds the wait for a watch event.
const eventTimeout = 30 * time.Second

// errNoEvent is a watch event that did not come within eventTimeout.
var errNoEvent = errors.New("zkload: no watch event within 30 s")

// do issues one request and says whether it was a write; a non-zero d is
// the request's latency when it is not the call's duration (Watch).
func (w *worker) do() (write bool, d time.Duration, err error) {
	switch w.workload {
	case Watch:
		_, _, ch, err := w.conn.GetW(w.node)
		if err != nil {
			return false, 0, err
		}
		begin := time.Now()
		if _, err := w.other.Set(w.node, w.value, -1); err != nil {
			return true, 0, err
		}
		select {
		case ev := <-ch:
			if ev.Err != nil {
				return true, 0, ev.Err
			}
			return true, time.Since(begin), nil
		case <-time.After(eventTimeout):
			return true, 0, errNoEvent
		}
	case Lock:
		return true, 0, w.lockOnce()
	case Expiry:
		d, err := w.expireOnce()
		return true, d, err
	case Session:
		return true, 0, w.sessionOnce()
	}
	write, err = w.simple()
	return write, 0, err
}

// lockOnce acquires the lock with ZooKeeper's recipe and releases it.
func (w *worker) lockOnce() error {
	me, err := w.conn.Create(w.lock+"/lock-", nil, zk.FlagEphemeral|zk.FlagSequence, acl)
	if err != nil {
		return err
	}
	name := me[len(w.lock)+1:]
	for {
		kids, _, err := w.conn.Children(w.lock)
		if err != nil {
			return err
		}
		slices.Sort(kids) // one parent: the sequence suffixes sort
		i := slices.Index(kids, name)
		if i < 0 {
			return fmt.Errorf("lock node %s vanished", me)
		}
		if i == 0 {
			break // held
		}
		ok, _, ch, err := w.conn.ExistsW(w.lock + "/" + kids[i-1])
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-time.After(eventTimeout):
			return errNoEvent
		}
	}
	return w.conn.Delete(me, -1)
}

// expireOnce opens a session, creates an ephemeral node with it, cuts its
// connection without closing it (as a client that dies), and returns the
// time from the cut to the node's NodeDeleted, seen by w's session.
func (w *worker) expireOnce() (time.Duration, error) {
	var (
		mu   sync.Mutex
		dead bool
		nc   net.Conn
	)
	dial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if dead {
			return nil, errors.New("zkload: this client is dead")
		}
		c, err := net.DialTimeout(network, address, timeout)
		nc = c
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	victim, err := connectOne(ctx, w.log, w.servers, ExpiryTimeout, dial)
	if err != nil {
		return 0, err
	}
	defer victim.Close()
	w.seq++
	path, err := victim.Create(fmt.Sprintf("%s-%d", w.prefix, w.seq), nil, zk.FlagEphemeral, acl)
	if err != nil {
		return 0, err
	}
	ok, _, ch, err := w.conn.ExistsW(path)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("ephemeral %s gone before its client died", path)
	}
	mu.Lock()
	dead = true
	nc.Close()
	mu.Unlock()
	cut := time.Now()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			return 0, fmt.Errorf("event %v on %s, want NodeDeleted", ev.Type, path)
		}
		return time.Since(cut), nil
	case <-time.After(ExpiryTimeout + eventTimeout):
		return 0, errNoEvent
	}
}

// sessionOnce opens a session on one of the servers and closes it.
func (w *worker) sessionOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	s, err := openRaw(ctx, w.servers[w.rng.IntN(len(w.servers))], w.sessionTimeout)
	if err != nil {
		return err
	}
	return s.close()
}

// simple issues one request of the one-request workloads.
func (w *worker) simple() (write bool, err error) {
	switch w.workload {
	case Create:
		w.seq++
		_, err = w.conn.Create(w.prefix+strconv.FormatInt(w.seq, 10), w.value, 0, acl)
		return true, err
	case Delete:
		path, ok := w.pool.take()
		if !ok {
			return true, errPoolEmpty
		}
		return true, w.conn.Delete(path, -1)
	case MultiRead:
		return false, w.multiRead()
	case SetData:
		_, err = w.conn.Set(w.node, w.value, -1)
		return true, err
	case GetData:
		_, _, err = w.conn.Get(w.node)
		return false, err
	case Exists:
		_, _, err = w.conn.Exists(w.node)
		return false, err
	case GetChildren:
		_, _, err = w.conn.Children(w.node)
		return false, err
	case Mixed:
		if w.rng.IntN(100) < w.readPercent {
			_, _, err = w.conn.Get(w.node)
			return false, err
		}
		_, err = w.conn.Set(w.node, w.value, -1)
		return true, err
	}
	panic("unknown workload " + string(w.workload))
}

// multiRead reads the worker's MultiReadNodes nodes in one multiRead and
// checks that each result is a getData of the size written.
func (w *worker) multiRead() error {
	body, err := w.pipe.call(zkwire.OpMultiRead, &zkwire.MultiRead{Ops: w.reads})
	if err != nil {
		return err
	}
	rec, err := zkwire.DecodeResponse(zkwire.OpMultiRead, body)
	if err != nil {
		return connectionLoss(err)
	}
	results := rec.(*zkwire.MultiResponse).Results
	if len(results) != len(w.reads) {
		return fmt.Errorf("multiRead of %d ops: %d results", len(w.reads), len(results))
	}
	for i, r := range results {
		switch {
		case r.Type == zkwire.OpError:
			return replyError{r.Err}
		case r.Type != zkwire.OpGetData || len(r.Data) != len(w.value):
			return fmt.Errorf("multiRead result %d: %s with %d bytes, want getData with %d", i, r.Type, len(r.Data), len(w.value))
		}
	}
	return nil
}

// multiReadNode returns the path of session i's node j (MultiRead).
func multiReadNode(root string, i, j int) string { return fmt.Sprintf("%s/m%d-%d", root, i, j) }

// setup creates the nodes workload w needs under root and returns the
// workers, Depth per session. MultiRead's sessions are opened on servers,
// and Run closes them (closePipes), also when setup fails.
func setup(ctx context.Context, conns []*zk.Conn, servers []string, w Workload, cfg Config, root string) (workers []*worker, err error) {
	value := bytes.Repeat([]byte("z"), cfg.ValueSize)

	var paths []string
	var data []byte
	switch w {
	case Create, Delete, SetData, GetData, Mixed, Exists:
		for i := range conns {
			paths = append(paths, sessionNode(root, i))
		}
		if w != Create && w != Delete {
			data = value
		}
	case MultiRead:
		for i := range conns {
			for j := range MultiReadNodes {
				paths = append(paths, multiReadNode(root, i, j))
			}
		}
		data = value
	case Watch:
		for i := range conns {
			for lane := range cfg.Depth {
				paths = append(paths, watchNode(root, i, lane))
			}
		}
	case Lock:
		paths = []string{root + "/lock"}
	case Expiry, Session:
	case GetChildren:
		if _, err := conns[0].Create(root+"/children", nil, 0, acl); err != nil {
			return nil, fmt.Errorf("create %s/children: %w", root, err)
		}
		for i := range cfg.Children {
			paths = append(paths, fmt.Sprintf("%s/children/c%d", root, i))
		}
	}
	err = fanOut(ctx, conns, cfg.Depth, len(paths), func(c *zk.Conn, i int) error {
		if _, err := c.Create(paths[i], data, 0, acl); err != nil {
			return fmt.Errorf("create %s: %w", paths[i], err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	var pool *deletePool
	if w == Delete {
		pool = &deletePool{root: root, sessions: len(conns)}
		if err := pool.fillFor(ctx, conns, cfg, value); err != nil {
			return nil, fmt.Errorf("fill: %w", err)
		}
	}
	for i, c := range conns {
		var p *pipe
		var reads []zkwire.Request
		if w == MultiRead {
			if p, err = openPipe(ctx, servers[i%len(servers)], cfg.SessionTimeout); err != nil {
				return workers, fmt.Errorf("multiRead session: %w", err)
			}
			for j := range MultiReadNodes {
				reads = append(reads, &zkwire.GetData{Path: multiReadNode(root, i, j)})
			}
		}
		for lane := range cfg.Depth {
			wk := &worker{
				conn:           c,
				workload:       w,
				node:           sessionNode(root, i),
				prefix:         fmt.Sprintf("%s/n%d-", sessionNode(root, i), lane),
				value:          value,
				readPercent:    cfg.ReadPercent,
				rng:            rand.New(rand.NewPCG(uint64(i), uint64(lane))),
				sessionTimeout: cfg.SessionTimeout,
				pool:           pool,
				pipe:           p,
				reads:          reads,
			}
			switch w {
			case GetChildren:
				wk.node = root + "/children"
			case Watch:
				wk.other = conns[(i+1)%len(conns)]
				// One watcher per node: a session's lanes each watch a
				// node of their own.
				wk.node = watchNode(root, i, lane)
			case Lock:
				wk.lock = root + "/lock"
			case Expiry:
				wk.prefix = fmt.Sprintf("%s/e%d-%d", root, i, lane)
			}
			workers = append(workers, wk)
		}
	}
	return workers, nil
}

// closePipes closes MultiRead's sessions, each once.
func closePipes(workers []*worker) {
	var wg sync.WaitGroup
	var last *pipe
	for _, w := range workers {
		if p := w.pipe; p != nil && p != last {
			last = p
			wg.Go(func() { p.close() })
		}
	}
	wg.Wait()
}

// watchNode returns the node lane of session i watches (Watch).
func watchNode(root string, i, lane int) string { return fmt.Sprintf("%s/w%d-%d", root, i, lane) }

// sessionNode returns the path of session i's own node under root.
func sessionNode(root string, i int) string { return fmt.Sprintf("%s/s%d", root, i) }

// phase says when the workers stop and whether latencies are kept.
type phase struct {
	// tickets, if set, holds the requests still to issue; else the phase
	// ends at deadline.
	tickets  *atomic.Int64
	deadline time.Time
	record   bool
	// progress, if set, counts the successful requests as they finish.
	progress *progress
}

func (p *phase) next() bool {
	if p.tickets != nil {
		return p.tickets.Add(-1) >= 0
	}
	return time.Now().Before(p.deadline)
}

// tally is what a worker saw in one phase.
type tally struct {
	ok, writes int64
	errs       map[string]int64
	lat        *Histogram // nil unless the phase records
}

func (t *tally) add(o *tally) {
	t.ok += o.ok
	t.writes += o.writes
	for code, n := range o.errs {
		t.errs[code] += n
	}
	if o.lat != nil {
		t.lat.Merge(o.lat)
	}
}

// runPhase runs every worker in its own goroutine until p says stop or ctx
// is done, and returns the sum of what they saw and how long the phase
// took. It returns after all the goroutines have exited.
func runPhase(ctx context.Context, workers []*worker, p *phase) (*tally, time.Duration, error) {
	tallies := make([]*tally, len(workers))
	var wg sync.WaitGroup
	start := time.Now()
	for i, w := range workers {
		t := &tally{errs: map[string]int64{}}
		if p.record {
			t.lat = new(Histogram)
		}
		tallies[i] = t
		wg.Go(func() {
			for ctx.Err() == nil && p.next() {
				begin := time.Now()
				write, own, err := w.do()
				if err == errPoolEmpty {
					return
				}
				d := time.Since(begin)
				if own > 0 {
					d = own
				}
				if err != nil {
					t.errs[errorCode(err)]++
					continue
				}
				t.ok++
				if p.progress != nil {
					p.progress.ok.Add(1)
				}
				if write {
					t.writes++
				}
				if t.lat != nil {
					t.lat.Record(d)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	sum := &tally{errs: map[string]int64{}, lat: new(Histogram)}
	for _, t := range tallies {
		sum.add(t)
	}
	return sum, elapsed, nil
}

// fanOut calls fn(c, i) for i in [0, n) from depth goroutines per session,
// each using its session's connection, and returns the first error (the
// goroutines stop taking work after it) or ctx's.
func fanOut(ctx context.Context, conns []*zk.Conn, depth, n int, fn func(c *zk.Conn, i int) error) error {
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for g := range min(len(conns)*depth, n) {
		c := conns[g%len(conns)]
		wg.Go(func() {
			for ctx.Err() == nil && !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(c, i); err != nil {
					errOnce.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// deleteTree deletes root and everything below it: it lists the tree level
// by level, then deletes the levels from the deepest up, each level's nodes
// in parallel over the sessions. Nodes already gone are no error.
func deleteTree(ctx context.Context, conns []*zk.Conn, depth int, root string) error {
	levels := [][]string{{root}}
	for {
		cur := levels[len(levels)-1]
		var (
			mu   sync.Mutex
			next []string
		)
		err := fanOut(ctx, conns, depth, len(cur), func(c *zk.Conn, i int) error {
			kids, _, err := c.Children(cur[i])
			if errors.Is(err, zk.ErrNoNode) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("children %s: %w", cur[i], err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range kids {
				next = append(next, cur[i]+"/"+k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(next) == 0 {
			break
		}
		levels = append(levels, next)
	}
	for i := len(levels) - 1; i >= 0; i-- {
		level := levels[i]
		err := fanOut(ctx, conns, depth, len(level), func(c *zk.Conn, j int) error {
			if err := c.Delete(level[j], -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return fmt.Errorf("delete %s: %w", level[j], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteCreated deletes the nodes the workers created (Create) and those
// Delete's pool still holds, by name, each Create worker on its own session
// and all in parallel. Listing them instead could exceed the client's and
// server's packet limits: a session's parent gets every node its workers
// create in a run.
func deleteCreated(ctx context.Context, conns []*zk.Conn, depth int, workers []*worker) error {
	if len(workers) > 0 && workers[0].pool != nil {
		return workers[0].pool.deleteRest(ctx, conns, depth)
	}
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		if w.workload != Create {
			continue
		}
		wg.Go(func() {
			for seq := int64(1); seq <= w.seq && ctx.Err() == nil; seq++ {
				path := w.prefix + strconv.FormatInt(seq, 10)
				if err := w.conn.Delete(path, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					errs[i] = fmt.Errorf("delete %s: %w", path, err)
					return
				}
			}
			errs[i] = ctx.Err()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// cleanupSessions is how many sessions Cleanup opens.
const cleanupSessions = 8

// Cleanup deletes root and everything below it; it is for roots left by
// Config.Keep or by an interrupted run. It lists the tree, so a parent with
// more children than fit in one reply (about 1.5 MB of names) stops it;
// Run's own cleanup deletes created nodes by name and has no such limit.
func Cleanup(ctx context.Context, log *zap.Logger, t Target, root string) error {
	cfg, err := Config{Sessions: cleanupSessions, Depth: 4}.withDefaults()
	if err != nil {
		return err
	}
	if root == "" || root == "/" || root == "/zookeeper" {
		return fmt.Errorf("refusing to delete %q", root)
	}
	conns, err := connect(ctx, log, t.Servers, cfg)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	return deleteTree(ctx, conns, cfg.Depth, root)
}
