package zkserver

import (
	"cmp"
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"zkfdb/layerd/fourletter"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/buildinfo"
	"zkfdb/shared/keys"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// started is when the process started, for lresp and mntr's uptime.
var started = time.Now()

// serverStats are the counters srvr, stat and mntr show; srst resets them.
// Every request of every connection updates them, so they are atomics,
// not a lock all connections would take in turn.
type serverStats struct {
	received, sent atomic.Int64
	// Latency in ms: the sum and count give the mean; min is stored
	// plus one so that 0 means none yet.
	latSum, latCount, latMinPlus1, latMax atomic.Int64
}

func (st *serverStats) packet(received bool) {
	if received {
		st.received.Add(1)
	} else {
		st.sent.Add(1)
	}
}

// addLatency records one request's latency.
func (st *serverStats) addLatency(d time.Duration) {
	ms := d.Milliseconds()
	st.latSum.Add(ms)
	st.latCount.Add(1)
	for {
		cur := st.latMinPlus1.Load()
		if cur != 0 && cur <= ms+1 || st.latMinPlus1.CompareAndSwap(cur, ms+1) {
			break
		}
	}
	for {
		cur := st.latMax.Load()
		if cur >= ms || st.latMax.CompareAndSwap(cur, ms) {
			break
		}
	}
}

// latency returns the summary of the latencies recorded.
func (st *serverStats) latency() fourletter.Latency {
	l := fourletter.Latency{Sum: st.latSum.Load(), Count: st.latCount.Load(), Max: st.latMax.Load()}
	if m := st.latMinPlus1.Load(); m > 0 {
		l.Min = m - 1
	}
	return l
}

// reset zeroes the counters (srst).
func (st *serverStats) reset() {
	for _, a := range []*atomic.Int64{&st.received, &st.sent, &st.latSum, &st.latCount, &st.latMinPlus1, &st.latMax} {
		a.Store(0)
	}
}

// connStats are what cons shows of a connection; crst resets them. The
// packet counts, updated twice a request, are atomics; the rest, once a
// request, are under mu.
type connStats struct {
	received, sent atomic.Int64

	mu          sync.Mutex
	wconn       znode.Conn // the session (0 until the handshake) and this connection
	timeout     time.Duration
	established time.Time
	lastOp      string
	lastCxid    int32
	lastZxid    int64
	lastResp    time.Time
	lastLatency time.Duration
	latency     fourletter.Latency
}

func (cs *connStats) packet(received bool) {
	if received {
		cs.received.Add(1)
	} else {
		cs.sent.Add(1)
	}
}

// recordRequest records one request of c, read at start and answered
// took later.
func (c *conn) recordRequest(op zkwire.OpCode, xid int32, start time.Time, took time.Duration) {
	cs := &c.stats
	cs.mu.Lock()
	cs.lastOp = lastOpName(op)
	cs.lastCxid = xid
	cs.lastZxid = c.lastZxid
	cs.lastResp = start.Add(took)
	cs.lastLatency = took
	cs.latency.Add(took)
	cs.mu.Unlock()
	c.s.stats.addLatency(took)
}

// lastOpName is the four-letter name ZooKeeper's cons shows for the last
// request of a connection (FinalRequestProcessor's).
func lastOpName(op zkwire.OpCode) string {
	switch op {
	case zkwire.OpPing:
		return "PING"
	case zkwire.OpCreate, zkwire.OpCreate2, zkwire.OpCreateContainer, zkwire.OpCreateTTL:
		return "CREA"
	case zkwire.OpDelete, zkwire.OpDeleteContainer:
		return "DELE"
	case zkwire.OpSetData:
		return "SETD"
	case zkwire.OpGetData:
		return "GETD"
	case zkwire.OpExists:
		return "EXIS"
	case zkwire.OpGetChildren, zkwire.OpGetChildren2:
		return "GETC"
	case zkwire.OpGetACL:
		return "GETA"
	case zkwire.OpSetACL:
		return "SETA"
	case zkwire.OpSync:
		return "SYNC"
	case zkwire.OpMulti:
		return "MULT"
	case zkwire.OpMultiRead:
		return "MLTR"
	case zkwire.OpSetWatches, zkwire.OpSetWatches2:
		return "SETW"
	case zkwire.OpCloseSession:
		return "CLOS"
	case zkwire.OpCheck:
		return "CHEC"
	case zkwire.OpRemoveWatches:
		return "REMW"
	case zkwire.OpCheckWatches:
		return "CHKW"
	case zkwire.OpAddWatch:
		return "ADDW"
	case zkwire.OpGetEphemerals:
		return "GETE"
	case zkwire.OpGetAllChildrenNumber:
		return "GETACN"
	case zkwire.OpWhoAmI:
		return "HOMI"
	case zkwire.OpAuth:
		return "AUTH"
	}
	return "NA"
}

// fourLetterWord peeks at the first four bytes: ZooKeeper answers its
// four-letter words there instead of a ConnectRequest's length.
func (c *conn) fourLetterWord() (string, bool) {
	b, err := c.in.need(4)
	if err != nil {
		return "", false
	}
	if w := string(b); slices.Contains(fourletter.Known, w) {
		c.in.discard(4)
		return w, true
	}
	return "", false
}

// reportWords and watchWords format the words that show a Report and
// the watch lists.
var (
	reportWords = map[string]func(fourletter.Report) string{
		"srvr": fourletter.Srvr, "stat": fourletter.Stat, "cons": fourletter.Cons,
		"conf": fourletter.Conf, "dirs": fourletter.Dirs, "mntr": fourletter.Mntr,
	}
	watchWords = map[string]func([]fourletter.SessionWatches) string{
		"wchs": fourletter.Wchs, "wchc": fourletter.Wchc, "wchp": fourletter.Wchp,
	}
)

// answerFourLetterWord answers word and returns; the caller closes the
// connection, as ZooKeeper does after every four-letter word.
func (c *conn) answerFourLetterWord(word string) {
	c.packet(true)
	c.nc.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	if !c.s.whitelist.Allows(word) {
		c.nc.Write([]byte(fourletter.NotWhitelisted(word)))
		return
	}
	var out string
	switch word {
	case "ruok":
		out = "imok"
	case "isro":
		out = "rw"
	case "crst":
		c.s.ResetConnStats()
		out = "Connection stats reset.\n"
	case "srst":
		c.s.ResetServerStats()
		out = "Server stats reset.\n"
	case "envi":
		out = fourletter.Envi(buildinfo.ZooKeeperVersion(), fourletter.Environment())
	case "srvr", "stat", "cons", "conf", "dirs", "mntr":
		out = reportWords[word](c.s.report(c))
	case "wchs", "wchc", "wchp":
		ws, err := c.s.WatchLists()
		if err != nil {
			c.log().Warn("listing watches for a four-letter word failed", zap.String("word", word), zap.Error(err))
			return
		}
		out = watchWords[word](ws)
	case "dump":
		sessions, conns, err := c.s.dump()
		if err != nil {
			c.log().Warn("reading the sessions for dump failed", zap.Error(err))
			return
		}
		out = fourletter.Dump(sessions, conns)
	case "gtmk":
		out = fourletter.TraceMask(c.s.TraceMask())
	case "stmk":
		// The mask follows the word. ZooKeeper takes it from the one
		// read after the word and, short of 8 bytes, closes the
		// connection without a reply; layerd waits stmkWait for the
		// rest, then does the same.
		var b [fourletter.TraceMaskLen]byte
		c.nc.SetReadDeadline(time.Now().Add(stmkWait))
		got, err := c.in.need(len(b))
		if err != nil {
			c.log().Debug("stmk without its mask", zap.Error(err))
			return
		}
		copy(b[:], got)
		mask := fourletter.DecodeTraceMask(b)
		c.s.SetTraceMask(mask)
		out = fourletter.TraceMask(mask)
	case "hash":
		// ZooKeeper lists its tree's digest every 128 transactions
		// (zookeeper.digest.enabled), for replicas to compare. layerd
		// keeps no such digest, the store being one copy to every
		// layerd, so its list is empty: ZooKeeper's answer before the
		// 128th transaction or with digests off.
		out = ""
	default:
		c.log().Debug("four-letter word not answered", zap.String("word", word))
		return
	}
	c.nc.Write([]byte(out))
}

// stmkWait bounds the wait for the mask after stmk.
const stmkWait = time.Second

// TraceMask is the trace mask gtmk and the AdminServer's get_trace_mask
// show: fourletter.DefaultTraceMask until SetTraceMask. As ZooKeeper's
// (one per JVM), it is one per Server, shared by the four-letter words
// and the AdminServer. It selects nothing: ZooKeeper's selects the
// request traces it logs at TRACE level, which layerd does not write
// (its per-request logs are Debug, chosen by the log level).
func (s *Server) TraceMask() int64 { return s.traceMask.Load() }

// SetTraceMask sets the mask TraceMask shows (stmk, set_trace_mask).
func (s *Server) SetTraceMask(mask int64) { s.traceMask.Store(mask) }

// ResetConnStats resets what cons shows of every connection (crst).
func (s *Server) ResetConnStats() {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		cs := &c.stats
		cs.mu.Lock()
		cs.received.Store(0)
		cs.sent.Store(0)
		cs.latency, cs.lastOp, cs.lastCxid, cs.lastZxid = fourletter.Latency{}, "NA", 0, 0
		cs.lastResp, cs.lastLatency = time.Time{}, 0
		cs.mu.Unlock()
	}
}

// ResetServerStats resets srvr's latency and packet counters (srst).
func (s *Server) ResetServerStats() {
	s.stats.reset()
}

// Report gathers what srvr, stat, cons, conf, dirs and mntr show, for
// the AdminServer.
func (s *Server) Report() fourletter.Report { return s.report(nil) }

// report gathers what srvr, stat, cons, conf, dirs and mntr show. self
// is the connection asking, which ZooKeeper lists among the clients (nil:
// none, over HTTP).
func (s *Server) report(self *conn) fourletter.Report {
	ctx, cancel := s.monitorCtx(storeCountBudget)
	defer cancel()
	r := fourletter.Report{Version: buildinfo.ZooKeeperVersion(), Mode: "standalone", Outstanding: s.outstanding.Load()}
	r.Latency, r.Received, r.Sent = s.stats.latency(), s.stats.received.Load(), s.stats.sent.Load()
	// A count that fails shows its last value (-1: none), as a line of
	// mntr cannot be left out; the metrics leave it out instead.
	var counts storeCounts
	var wg sync.WaitGroup
	wg.Go(func() { counts = s.storeCounts(ctx) })
	if zxid, err := s.tree.Sync(ctx); err == nil {
		r.Zxid = zxid
	}
	wg.Wait()
	r.NodeCount = counts.nodes.n

	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	sessions := len(s.live)
	s.mu.Unlock()
	slices.SortFunc(conns, func(a, b *conn) int { return a.stats.established.Compare(b.stats.established) })
	for _, c := range conns {
		r.Connections = append(r.Connections, c.describe(c == self))
	}

	dataSize := dirSize(s.cfg.DataDir)
	r.DataDirSize, r.LogDirSize = dataSize, dataSize
	port := strconv.Itoa(s.clientPort(self))
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	r.Conf = []fourletter.Setting{
		{Key: "clientPort", Value: port},
		{Key: "secureClientPort", Value: "-1"},
		{Key: "dataDir", Value: s.cfg.DataDir},
		{Key: "dataDirSize", Value: strconv.FormatInt(dataSize, 10)},
		{Key: "dataLogDir", Value: s.cfg.DataDir},
		{Key: "dataLogSize", Value: strconv.FormatInt(dataSize, 10)},
		{Key: "tickTime", Value: ms(s.cfg.TickTime)},
		{Key: "maxClientCnxns", Value: strconv.Itoa(s.cfg.MaxClientCnxns)},
		{Key: "minSessionTimeout", Value: ms(s.cfg.MinSessionTimeout)},
		{Key: "maxSessionTimeout", Value: ms(s.cfg.MaxSessionTimeout)},
		{Key: "clientPortListenBacklog", Value: "-1"},
		{Key: "serverId", Value: "0"},
	}

	open, maxFiles := fileDescriptors()
	i := strconv.FormatInt
	r.Metrics = map[string]string{
		"version":                    r.Version,
		"server_state":               r.Mode,
		"num_alive_connections":      strconv.Itoa(len(r.Connections)),
		"avg_latency":                fourletter.Decimal(r.Latency.Avg()),
		"min_latency":                i(r.Latency.Min, 10),
		"max_latency":                i(r.Latency.Max, 10),
		"outstanding_requests":       i(r.Outstanding, 10),
		"znode_count":                i(r.NodeCount, 10),
		"watch_count":                i(counts.watches.n, 10),
		"ephemerals_count":           i(counts.ephemerals.n, 10),
		"global_sessions":            strconv.Itoa(sessions),
		"packets_sent":               i(r.Sent, 10),
		"packets_received":           i(r.Received, 10),
		"uptime":                     i(time.Since(started).Milliseconds(), 10),
		"open_file_descriptor_count": i(open, 10),
		"max_file_descriptor_count":  i(maxFiles, 10),
		"connection_request_count":   i(int64(counterValue(s.metrics.connections)), 10),
		"connection_rejected":        i(int64(counterValue(s.metrics.rejected)), 10),
	}
	return r
}

// WatchLists reads, for each session with a connection here, the paths
// it watches in ZooKeeper's data-watch table (wchs, wchc, wchp), within
// watchListBudget.
func (s *Server) WatchLists() ([]fourletter.SessionWatches, error) {
	ctx, cancel := s.monitorCtx(watchListBudget)
	defer cancel()
	wconns := s.watchConns()
	slices.SortFunc(wconns, func(a, b znode.Conn) int { return cmp.Compare(a.Session, b.Session) })
	var out []fourletter.SessionWatches
	for _, w := range wconns {
		watches, err := s.tree.ConnWatches(ctx, w)
		if err != nil {
			return nil, err
		}
		sw := fourletter.SessionWatches{Session: w.Session}
		for _, cw := range watches {
			if cw.Kind != keys.WatchChild && !slices.Contains(sw.Paths, cw.Path) {
				sw.Paths = append(sw.Paths, cw.Path)
			}
		}
		slices.Sort(sw.Paths)
		out = append(out, sw)
	}
	return out, nil
}

// watchConns returns the connections here that have a session, as
// watches name them.
func (s *Server) watchConns() []znode.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wconns []znode.Conn
	for c := range s.conns {
		c.stats.mu.Lock()
		if w := c.stats.wconn; w.Session != 0 {
			wconns = append(wconns, w)
		}
		c.stats.mu.Unlock()
	}
	return wconns
}

// dump reads what dump shows: the sessions with a connection here, when
// each expires unless refreshed (its last refresh's expiry tick, from the
// clock's tick now), their ephemerals, and every connection.
func (s *Server) dump() ([]fourletter.DumpSession, []fourletter.DumpConn, error) {
	ctx, cancel := s.monitorCtx(watchListBudget)
	defer cancel()
	now, err := s.tree.Now(ctx)
	if err != nil {
		return nil, nil, err
	}
	at := time.Now()
	expires := func(tick int64) time.Time {
		return at.Add(time.Duration(tick-now) * s.cfg.TickTime).Truncate(time.Second)
	}
	type live struct {
		id     int64
		expiry int64
	}
	s.mu.Lock()
	var ls []live
	for id, t := range s.live {
		ls = append(ls, live{id, t.written})
	}
	var dc []fourletter.DumpConn
	for c := range s.conns {
		c.stats.mu.Lock()
		id := c.stats.wconn.Session
		c.stats.mu.Unlock()
		d := fourletter.DumpConn{Remote: c.nc.RemoteAddr().String(), Session: id, Expires: at.Add(handshakeTimeout).Truncate(time.Second)}
		if t := s.live[id]; id != 0 && t != nil {
			d.Expires = expires(t.written)
		}
		dc = append(dc, d)
	}
	s.mu.Unlock()
	// A connection without a session (the one asking) is listed with the
	// first set, as ZooKeeper's tick-rounded sets put it.
	first := time.Time{}
	for _, d := range dc {
		if d.Session != 0 && (first.IsZero() || d.Expires.Before(first)) {
			first = d.Expires
		}
	}
	for i := range dc {
		if dc[i].Session == 0 && !first.IsZero() {
			dc[i].Expires = first
		}
	}
	slices.SortFunc(ls, func(a, b live) int { return cmp.Compare(a.id, b.id) })
	var out []fourletter.DumpSession
	for _, l := range ls {
		rd, err := s.tree.GetEphemerals(ctx, l.id, "/")
		if err != nil {
			return nil, nil, err
		}
		out = append(out, fourletter.DumpSession{ID: l.id, Expires: expires(l.expiry), Ephemerals: rd.Children})
	}
	return out, dc, nil
}

// monitorCtx bounds the store reads of a four-letter word, an
// AdminServer command or a metrics scrape by budget, and charges them to
// the store metrics' "monitor" operation.
func (s *Server) monitorCtx(budget time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(metered.WithOp(s.base, "monitor"), budget)
}

// watchListBudget bounds the store reads of one watch listing.
const watchListBudget = 5 * time.Second

// clientPort is the port clients reach this server on: self's, or a
// listener's (-1 without either).
func (s *Server) clientPort(self *conn) int {
	var addr net.Addr
	if self != nil {
		addr = self.nc.LocalAddr()
	} else {
		s.mu.Lock()
		for ln := range s.listeners {
			addr = ln.Addr()
			break
		}
		s.mu.Unlock()
	}
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.Port
	}
	return -1
}

// describe is c as cons shows it; self is the connection asking, still
// in its handshake as far as ZooKeeper's listing goes.
func (c *conn) describe(self bool) fourletter.Conn {
	cs := &c.stats
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := fourletter.Conn{Remote: c.nc.RemoteAddr().String(), Received: cs.received.Load(), Sent: cs.sent.Load()}
	if self || cs.wconn.Session == 0 {
		return out
	}
	out.Interest = 1
	var lresp int64
	if !cs.lastResp.IsZero() {
		lresp = cs.lastResp.Sub(started).Milliseconds()
	}
	out.Session = &fourletter.Session{
		ID: cs.wconn.Session, LastOp: cs.lastOp, Established: cs.established, Timeout: int32(cs.timeout / time.Millisecond),
		LastCxid: cs.lastCxid, LastZxid: cs.lastZxid, LastResponse: lresp,
		LastLatency: cs.lastLatency.Milliseconds(), Latency: cs.latency,
	}
	return out
}

// dirSize is the bytes of the files under dir ("": 0).
func dirSize(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// fileDescriptors returns the process's open file descriptors and its
// limit (-1 where unknown).
func fileDescriptors() (open, limit int64) {
	open, limit = -1, -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = int64(len(ents))
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		limit = int64(rl.Cur)
	}
	return open, limit
}

// packet counts one frame read (received) or written by c, for c and for
// the server.
func (c *conn) packet(received bool) {
	c.stats.packet(received)
	c.s.stats.packet(received)
}

// counterValue reads a Prometheus counter.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if c.Write(&m) != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// registerZooKeeperMetrics exports, under the names of ZooKeeper's
// Prometheus provider, the counters srvr and mntr show that the other
// metrics do not already: packets, latency, sessions, and the counts of
// the store (storeCollector).
func (s *Server) registerZooKeeperMetrics(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	read := func(f func(st *serverStats) float64) func() float64 {
		return func() float64 { return f(&s.stats) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "packets_received", Help: "Packets received from clients (ZooKeeper's name; srst resets it)."},
			read(func(st *serverStats) float64 { return float64(st.received.Load()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "packets_sent", Help: "Packets sent to clients (ZooKeeper's name; srst resets it)."},
			read(func(st *serverStats) float64 { return float64(st.sent.Load()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "avg_latency", Help: "Mean request latency in ms since start or srst (ZooKeeper's name)."},
			read(func(st *serverStats) float64 { return st.latency().Avg() })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "min_latency", Help: "Least request latency in ms since start or srst (ZooKeeper's name)."},
			read(func(st *serverStats) float64 { return float64(st.latency().Min) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "max_latency", Help: "Greatest request latency in ms since start or srst (ZooKeeper's name)."},
			read(func(st *serverStats) float64 { return float64(st.latency().Max) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "global_sessions", Help: "Sessions with a connection to this layerd (ZooKeeper's name)."},
			func() float64 {
				s.mu.Lock()
				defer s.mu.Unlock()
				return float64(len(s.live))
			}),
		storeCollector{s},
	} {
		reg.MustRegister(c)
	}
}

// SessionDump reads what the AdminServer's dump shows: the sessions with
// a connection here by when each expires unless refreshed, and the
// ephemerals of those that have some. The times are milliseconds of the
// clock cons's lresp uses (ZooKeeper's elapsed-time clock, which its
// session tracker keys by), rounded up to the next tick as ZooKeeper
// rounds them.
func (s *Server) SessionDump() (expiry map[int64][]int64, ephemerals map[int64][]string, err error) {
	sessions, _, err := s.dump()
	if err != nil {
		return nil, nil, err
	}
	tick := max(s.cfg.TickTime.Milliseconds(), 1)
	expiry, ephemerals = map[int64][]int64{}, map[int64][]string{}
	for _, d := range sessions {
		at := (d.Expires.Sub(started).Milliseconds()/tick + 1) * tick
		expiry[at] = append(expiry[at], d.ID)
		if len(d.Ephemerals) > 0 {
			ephemerals[d.ID] = d.Ephemerals
		}
	}
	return expiry, ephemerals, nil
}

// SystemProperties are what the AdminServer's system_properties shows
// in place of a JVM's: the Java system properties envi shows (java.*,
// os.*, user.*, with the Go runtime's values, leaving out those it has
// none for), the separators, and the ZooKeeper system properties layerd
// has a setting for, with its values.
func (s *Server) SystemProperties() map[string]string {
	out := map[string]string{
		"file.separator":                   string(os.PathSeparator),
		"line.separator":                   "\n",
		"path.separator":                   string(os.PathListSeparator),
		"zookeeper.4lw.commands.whitelist": s.whitelist.String(),
		"zookeeper.extendedTypesEnabled":   strconv.FormatBool(s.cfg.ExtendedTypes),
		"jute.maxbuffer":                   strconv.Itoa(s.cfg.MaxBuffer),
	}
	for _, kv := range fourletter.Environment() {
		k := kv.Key
		property := strings.HasPrefix(k, "java.") || strings.HasPrefix(k, "user.") ||
			strings.HasPrefix(k, "os.") && !strings.HasPrefix(k, "os.memory.")
		if property && kv.Value != "<NA>" {
			out[k] = kv.Value
		}
	}
	return out
}

// InitialConfiguration is what the AdminServer's initial_configuration
// shows. ZooKeeper's is the text of the zoo.cfg it read at start;
// layerd's settings come from flags, a YAML file or a zoo.cfg
// (docs/operations.md) and do not change while it runs, so this is
// those of them zoo.cfg has keys for, as zoo.cfg lines.
func (s *Server) InitialConfiguration() string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + "=" + v + "\n") }
	line("tickTime", ms(s.cfg.TickTime))
	if s.cfg.DataDir != "" {
		line("dataDir", s.cfg.DataDir)
	}
	line("clientPort", strconv.Itoa(s.clientPort(nil)))
	line("maxClientCnxns", strconv.Itoa(s.cfg.MaxClientCnxns))
	line("minSessionTimeout", ms(s.cfg.MinSessionTimeout))
	line("maxSessionTimeout", ms(s.cfg.MaxSessionTimeout))
	line("4lw.commands.whitelist", s.whitelist.String())
	return b.String()
}
