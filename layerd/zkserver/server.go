// Package zkserver serves ZooKeeper clients for layerd: the connect
// handshake and sessions, and every client request, answered from a
// znode.Tree in the order each connection sent them. Connections are
// served concurrently, one goroutine each, so a slow or stuck client
// stalls nobody else.
//
// Watches are kept in the store and delivered to their connection before
// every reply (watch.go); sessions are refreshed once per tick of the
// cluster's clock while they have traffic (heartbeat.go).
package zkserver

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"zkfdb/layerd/fourletter"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/znode"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("zkserver: server closed")

// Server accepts ZooKeeper client connections. Its methods are safe for
// concurrent use.
type Server struct {
	log     *zap.Logger
	metrics *metrics
	tree    *znode.Tree
	cfg     Config

	// base is the parent of every request's context: stop cancels it
	// when its deadline passes with requests still running, so that they
	// end before the store is closed under them.
	base       context.Context
	cancelBase context.CancelFunc

	// outstanding counts the requests being executed.
	outstanding atomic.Int64
	// idlePoller is the poller of parked connections (poller), made at the
	// first park.
	pollerOnce sync.Once
	idlePoller atomic.Pointer[poller]
	// testHookParked, set by tests before Serve, is told of each park
	// with the session's id.
	testHookParked func(session int64)
	// readBuffers counts the connections' pooled read buffers held: the
	// connections not idle (frameReader).
	readBuffers atomic.Int64
	// stats and whitelist are the four-letter words' (fourletter.go).
	stats     serverStats
	whitelist fourletter.Whitelist
	traceMask atomic.Int64 // gtmk's and stmk's (TraceMask)
	// The counts of the store that the four-letter words and the metrics
	// show (storecount.go), each read at most every countTTL
	// (storeCountTTL; tests shorten it).
	countTTL                              time.Duration
	nodeCount, watchCount, ephemeralCount countCache

	mu        sync.Mutex
	closed    bool
	killed    bool // Kill: stop as a crash would, cleaning nothing up
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perIP     map[string]int     // open connections by client IP (MaxClientCnxns)
	live      map[int64]*tracked // sessions with connections here (heartbeat.go)
	// Requests waiting to be dated, and the next round's number
	// (heartbeat.go); dateWake starts a round.
	undated     []*tracked
	datingRound uint64
	dateWake    chan struct{}
	serving     sync.WaitGroup // one per running Serve
	handlers    sync.WaitGroup // one per connection
}

// Config configures a Server. A zero field means the default.
type Config struct {
	// TickTime is ZooKeeper's tickTime: session timeouts are clamped to
	// [2, 20] ticks unless MinSessionTimeout/MaxSessionTimeout say
	// otherwise. Default 2 s (Debian's zoo.cfg).
	TickTime          time.Duration
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// MaxBuffer is jute.maxbuffer: a larger frame closes its connection.
	// Default 1,048,575 bytes.
	MaxBuffer int
	// MaxConnections bounds the client connections open at once: each
	// holds a store watch, and the store's max_watches bounds those. One
	// more is closed as soon as it is accepted, before any store work, as
	// ZooKeeper closes a connection over maxClientCnxns; its client tries
	// another server. 0: no limit.
	MaxConnections int
	// MaxClientCnxns is ZooKeeper's maxClientCnxns: the connections one
	// client IP address may have open at once. One more is closed as
	// soon as it is accepted, as ZooKeeper closes it ("Too many
	// connections from ..."). 0: no limit (ZooKeeper's default is 60;
	// layerd's flag defaults to it).
	MaxClientCnxns int
	// ExtendedTypes is ZooKeeper's zookeeper.extendedTypesEnabled: TTL
	// nodes (createTTL, and TTL creates in a multi) are refused with
	// UNIMPLEMENTED unless it is set, as ZooKeeper refuses them.
	ExtendedTypes bool
	// FourLetterWords is ZooKeeper's 4lw.commands.whitelist (a list
	// fourletter.ParseWhitelist reads); default fourletter.DefaultWhitelist.
	FourLetterWords string
	// DataDir is the embedded engine's data directory, which conf and
	// dirs report ("" on FoundationDB: nothing is kept locally).
	DataDir string
}

func (c Config) withDefaults() Config {
	if c.TickTime == 0 {
		c.TickTime = 2 * time.Second
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if c.MaxSessionTimeout == 0 {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if c.MaxBuffer == 0 {
		c.MaxBuffer = zkwire.DefaultMaxBuffer
	}
	if c.FourLetterWords == "" {
		c.FourLetterWords = fourletter.DefaultWhitelist
	}
	return c
}

type metrics struct {
	heartbeats  prometheus.Counter
	connections prometheus.Counter
	refused     prometheus.Counter
	rejected    prometheus.Counter
	requests    *prometheus.CounterVec
	// requestCounters holds requests' counters by op and code, looked up
	// once: WithLabelValues hashes the labels each time (2 % of a
	// getData's CPU).
	requestCounters sync.Map // opCode → prometheus.Counter
	latency         prometheus.Histogram
	open            prometheus.Gauge
	outstanding     prometheus.GaugeFunc
}

// opCode is a request's op and reply code.
type opCode struct {
	op   zkwire.OpCode
	code zkwire.Code
}

func (m *metrics) requestCounter(op zkwire.OpCode, code zkwire.Code) prometheus.Counter {
	k := opCode{op, code}
	if c, ok := m.requestCounters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(op.String(), code.String())
	m.requestCounters.Store(k, c)
	return c
}

func newMetrics(reg prometheus.Registerer, outstanding *atomic.Int64) *metrics {
	f := promauto.With(reg)
	return &metrics{
		heartbeats: f.NewCounter(prometheus.CounterOpts{
			Name: "layerd_session_refreshes_total",
			Help: "Session expiry refreshes written (at most one per session per clock tick, in one commit per tick).",
		}),
		// ZooKeeper's own name for this counter.
		connections: f.NewCounter(prometheus.CounterOpts{
			Name: "connection_request_count",
			Help: "Incoming client connection requests.",
		}),
		refused: f.NewCounter(prometheus.CounterOpts{
			Name: "layerd_connections_refused_total",
			Help: "Client connections closed at accept: the server held MaxConnections already.",
		}),
		// ZooKeeper's name: connections closed at accept for its
		// maxClientCnxns.
		rejected: f.NewCounter(prometheus.CounterOpts{
			Name: "connection_rejected",
			Help: "Client connections closed at accept: their IP address had MaxClientCnxns open already.",
		}),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "layerd_requests_total",
			Help: "Client requests answered, by operation and ZooKeeper error code.",
		}, []string{"op", "code"}),
		latency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "layerd_request_seconds",
			Help:    "Time from reading a request to writing its reply.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		// ZooKeeper's name for open client connections.
		outstanding: f.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outstanding_requests",
			Help: "Client requests being executed (ZooKeeper's name).",
		}, func() float64 { return float64(outstanding.Load()) }),
		open: f.NewGauge(prometheus.GaugeOpts{
			Name: "num_alive_connections",
			Help: "Open client connections.",
		}),
	}
}

// New returns a Server that answers from tree, logs to log and registers
// its metrics on reg (nil: unregistered).
func New(log *zap.Logger, reg prometheus.Registerer, tree *znode.Tree, cfg Config) *Server {
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		base:       base,
		cancelBase: cancel,
		log:        log.Named("zkserver"),
		tree:       tree,
		cfg:        cfg.withDefaults(),
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
		perIP:      make(map[string]int),
		live:       make(map[int64]*tracked),
		dateWake:   make(chan struct{}, 1),
		countTTL:   storeCountTTL,
	}
	s.metrics = newMetrics(reg, &s.outstanding)
	s.registerZooKeeperMetrics(reg)
	wl, err := fourletter.ParseWhitelist(s.cfg.FourLetterWords)
	if err != nil {
		// The daemon checks its flag; a library caller gets the default.
		s.log.Error("bad four-letter-word whitelist; using the default", zap.Error(err))
		wl, _ = fourletter.ParseWhitelist(fourletter.DefaultWhitelist)
	}
	s.whitelist = wl
	s.traceMask.Store(fourletter.DefaultTraceMask)
	return s
}

// Serve accepts connections on ln until Shutdown, and closes ln before it
// returns. It always returns a non-nil error: ErrServerClosed after
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.serving.Done()
	defer ln.Close()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			// Out of file descriptors: wait for some to be freed, as
			// net/http does, instead of giving up on every client.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.handle(conn)
	}
}

// handle serves nc on a goroutine of its own until it closes.
func (s *Server) handle(nc net.Conn) {
	s.metrics.connections.Inc()
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if max := s.cfg.MaxConnections; max > 0 && len(s.conns) >= max {
		s.mu.Unlock()
		// Counted before the close, which the client sees: the metric
		// never lags what a client observed.
		s.metrics.refused.Inc()
		nc.Close()
		s.log.Warn("too many connections; closing a new one", zap.Int("max_connections", max), zap.Stringer("remote", nc.RemoteAddr()))
		return
	}
	ip := remoteIP(nc.RemoteAddr())
	if max := s.cfg.MaxClientCnxns; max > 0 && s.perIP[ip] >= max {
		s.mu.Unlock()
		s.metrics.rejected.Inc()
		nc.Close()
		s.log.Warn("too many connections from one client address; closing a new one", zap.String("ip", ip), zap.Int("max_client_cnxns", max))
		return
	}
	s.conns[c] = struct{}{}
	s.perIP[ip]++
	s.handlers.Add(1)
	s.mu.Unlock()
	s.metrics.open.Inc()
	// Once it ends, on whichever goroutine runs it then (a parked
	// connection has none: conn.park).
	c.onEnd = func() {
		s.mu.Lock()
		delete(s.conns, c)
		if s.perIP[ip]--; s.perIP[ip] == 0 {
			delete(s.perIP, ip)
		}
		s.mu.Unlock()
		s.metrics.open.Dec()
		// The socket closes last, once the server no longer counts the
		// connection: a client that sees it closed (after a four-letter
		// word, say) finds it gone from what the server reports.
		c.close()
		s.handlers.Done()
	}
	go c.serve()
}

// poller returns the server's poller of parked connections, made at the
// first park; nil where there is none (park_other.go) or it failed.
func (s *Server) poller() *poller {
	s.pollerOnce.Do(func() {
		p, err := newPoller()
		if err != nil {
			s.log.Info("idle connections wait on goroutines of their own", zap.Error(err))
			return
		}
		s.idlePoller.Store(p)
	})
	return s.idlePoller.Load()
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	s.serving.Add(1)
	return true
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// abandonAfter bounds the wait for connection handlers once their
// requests were cancelled: store operations end at once when cancelled,
// so only a bug makes stop wait this long.
const abandonAfter = 10 * time.Second

// Shutdown closes the listeners and every connection, whose clients then
// reconnect elsewhere with their sessions, and waits until every Serve
// and every connection's goroutines have returned. Requests still running
// when ctx ends are cancelled and waited for: when Shutdown returns,
// nothing of the server runs. Later calls to Serve return ErrServerClosed
// at once.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.stop(ctx, false)
}

// Kill stops the server as a crash of its process would: listeners and
// connections closed, and nothing cleaned up in the store (a closed
// connection's watches stay until its client reconnects or its session
// expires). For tests of failures.
func (s *Server) Kill(ctx context.Context) error {
	return s.stop(ctx, true)
}

func (s *Server) isKilled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killed
}

func (s *Server) stop(ctx context.Context, kill bool) error {
	s.mu.Lock()
	s.closed = true
	s.killed = s.killed || kill
	var errs []error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	clear(s.listeners)
	s.mu.Unlock()
	if !kill {
		// Refresh the sessions before their connections close: their
		// clients may take up to their timeout to reach another layerd.
		if err := s.flushHeartbeats(ctx); err != nil {
			s.log.Warn("refreshing the sessions before closing their connections failed", zap.Error(err))
		}
	}
	s.mu.Lock()
	// Clients reconnect elsewhere with their session, as after a server
	// failure; sessions live in the store.
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.serving.Wait()
		s.handlers.Wait()
		// No connection is left to park: none is made after this.
		s.pollerOnce.Do(func() {})
		if p := s.idlePoller.Load(); p != nil {
			p.stop()
		}
		close(done)
	}()
	defer s.cancelBase()
	select {
	case <-done:
		return errors.Join(errs...)
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	// Out of time: cancel the requests still running (their store work
	// fails at once; a write's outcome is unknown to its client, as after
	// any lost connection) and wait for them to return, so that nothing
	// runs once stop has returned and the caller closes the store.
	s.cancelBase()
	select {
	case <-done:
	case <-time.After(abandonAfter):
		s.log.Error("connection handlers still running after their requests were cancelled", zap.Duration("waited", abandonAfter))
		errs = append(errs, errors.New("zkserver: connection handlers did not return after cancellation"))
	}
	return errors.Join(errs...)
}
