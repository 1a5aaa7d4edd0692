// Package fourletter answers ZooKeeper's four-letter words, the
// monitoring commands a client sends instead of a ConnectRequest (`echo
// srvr | nc host 2181`), in the output formats of ZooKeeper 3.8, which
// zkServer.sh, Nagios checks, exporters and kazoo's server_version()
// parse. The server gathers a Report; this package formats it, and
// decides with ZooKeeper's whitelist semantics which words are answered.
//
// The field names and their order are ZooKeeper's (checked against
// Debian's ZooKeeper by the differential test); the values are layerd's.
// Where ZooKeeper reports something layerd has no equivalent for (a
// quorum, a JVM, a snapshot), the value is 0 or -1 as ZooKeeper shows it
// on an idle standalone server.
package fourletter

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Known are ZooKeeper 3.9's four-letter words (3.8's are the same), all
// of which layerd answers.
var Known = []string{"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs"}

// DefaultWhitelist is layerd's 4lw.commands.whitelist when none is
// configured. ZooKeeper's is "srvr" alone (zkServer.sh needs it); layerd
// adds ruok and isro, which reveal nothing and which health checks and
// read-only-capable clients send (docs/operations.md).
const DefaultWhitelist = "srvr, ruok, isro"

// Whitelist is ZooKeeper's 4lw.commands.whitelist: the words a server
// answers. "srvr" is always in it, as in ZooKeeper.
type Whitelist struct {
	all   bool
	words map[string]bool
}

// ParseWhitelist reads a whitelist as ZooKeeper does: words separated by
// commas, spaces around them ignored, "*" for every word. A token that is
// not one of ZooKeeper's words is an error that names it (ZooKeeper
// ignores it; here it is a typo caught at start).
func ParseWhitelist(s string) (Whitelist, error) {
	w := Whitelist{words: map[string]bool{"srvr": true}}
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		switch {
		case tok == "":
		case tok == "*":
			w.all = true
		case slices.Contains(Known, tok):
			w.words[tok] = true
		default:
			return Whitelist{}, fmt.Errorf("%q is not a four-letter word of ZooKeeper's (%s, or *)", tok, strings.Join(Known, ", "))
		}
	}
	return w, nil
}

// Allows reports whether word is answered.
func (w Whitelist) Allows(word string) bool { return w.all || w.words[word] }

// String lists the whitelist as ParseWhitelist reads it.
func (w Whitelist) String() string {
	if w.all {
		return "*"
	}
	var out []string
	for _, k := range Known {
		if w.words[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

// NotWhitelisted is ZooKeeper's answer to a known word the whitelist
// leaves out.
func NotWhitelisted(word string) string {
	return word + " is not executed because it is not in the whitelist.\n"
}

// DefaultTraceMask is ZooKeeper's trace mask at start (ZooTrace's
// client requests, server packets, sessions and warnings: 306), which
// gtmk shows until stmk changes it.
const DefaultTraceMask int64 = 0b1_0011_0010

// TraceMaskLen is the length of the mask that follows stmk: a big-endian
// long.
const TraceMaskLen = 8

// TraceMask is gtmk's and stmk's answer: the mask in decimal, with no
// newline (Java's PrintWriter.print of a long).
func TraceMask(mask int64) string { return strconv.FormatInt(mask, 10) }

// DecodeTraceMask reads the mask stmk sends after the word.
func DecodeTraceMask(b [TraceMaskLen]byte) int64 { return int64(binary.BigEndian.Uint64(b[:])) }

// Latency is a summary of request latencies, in milliseconds.
type Latency struct {
	Min, Max int64
	Sum      int64
	Count    int64
}

// Add records one latency.
func (l *Latency) Add(d time.Duration) {
	ms := d.Milliseconds()
	if l.Count == 0 || ms < l.Min {
		l.Min = ms
	}
	l.Max = max(l.Max, ms)
	l.Sum += ms
	l.Count++
}

// Avg is the mean latency (0 with none).
func (l Latency) Avg() float64 {
	if l.Count == 0 {
		return 0
	}
	return float64(l.Sum) / float64(l.Count)
}

// Conn is one client connection as cons and stat show it.
type Conn struct {
	Remote string // host:port
	// Interest is 1 for a connection with a session, 0 for one still
	// in its handshake (the four-letter word's own, say): ZooKeeper's
	// selector interest ops.
	Interest       int
	Queued         int64
	Received, Sent int64 // packets
	// Session is nil before the handshake.
	Session *Session
}

// Session is what cons shows of an established connection's session.
type Session struct {
	ID          int64
	LastOp      string // ZooKeeper's four-letter name of the last request ("GETD")
	Established time.Time
	Timeout     int32 // ms
	LastCxid    int32
	LastZxid    int64
	// LastResponse is when the last reply was sent, in milliseconds of
	// the server's monotonic clock (ZooKeeper's lresp).
	LastResponse int64
	LastLatency  int64 // ms
	Latency      Latency
}

// Report is what the words show of a server.
type Report struct {
	Version     string // "3.8.0-zkfdb-…, built on …"
	Mode        string // "standalone"
	Latency     Latency
	Received    int64 // packets
	Sent        int64
	Outstanding int64
	Zxid        int64
	NodeCount   int64
	Connections []Conn
	// Conf are conf's settings, in ZooKeeper's order.
	Conf []Setting
	// DataDirSize and LogDirSize are dirs' and conf's sizes, in bytes.
	DataDirSize, LogDirSize int64
	// Metrics are mntr's values by key (zk_… without the prefix's
	// summaries): keys of MntrKeys not here show 0.
	Metrics map[string]string
}

// Setting is one key=value of conf or envi.
type Setting struct{ Key, Value string }

func (r Report) header(b *strings.Builder) {
	fmt.Fprintf(b, "Zookeeper version: %s\n", r.Version)
}

func (r Report) counters(b *strings.Builder) {
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", r.Latency.Min, decimal(r.Latency.Avg(), 1), r.Latency.Max)
	fmt.Fprintf(b, "Received: %d\n", r.Received)
	fmt.Fprintf(b, "Sent: %d\n", r.Sent)
	fmt.Fprintf(b, "Connections: %d\n", len(r.Connections))
	fmt.Fprintf(b, "Outstanding: %d\n", r.Outstanding)
	fmt.Fprintf(b, "Zxid: 0x%x\n", r.Zxid)
	fmt.Fprintf(b, "Mode: %s\n", r.Mode)
	fmt.Fprintf(b, "Node count: %d\n", r.NodeCount)
}

// Srvr is srvr's answer.
func Srvr(r Report) string {
	var b strings.Builder
	r.header(&b)
	r.counters(&b)
	return b.String()
}

// Stat is stat's answer: srvr with the connections, briefly.
func Stat(r Report) string {
	var b strings.Builder
	r.header(&b)
	b.WriteString("Clients:\n")
	for _, c := range r.Connections {
		c.brief(&b)
		b.WriteString(")\n")
	}
	b.WriteString("\n")
	r.counters(&b)
	return b.String()
}

func (c Conn) brief(b *strings.Builder) {
	fmt.Fprintf(b, " /%s[%d](queued=%d,recved=%d,sent=%d", c.Remote, c.Interest, c.Queued, c.Received, c.Sent)
}

// Cons is cons's answer: every connection in full.
func Cons(r Report) string {
	var b strings.Builder
	for _, c := range r.Connections {
		c.brief(&b)
		if s := c.Session; s != nil {
			fmt.Fprintf(&b, ",sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x%x,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
				s.ID, s.LastOp, s.Established.UnixMilli(), s.Timeout, s.LastCxid, uint64(s.LastZxid), s.LastResponse,
				s.LastLatency, s.Latency.Min, int64(s.Latency.Avg()), s.Latency.Max)
		}
		b.WriteString(")\n")
	}
	b.WriteString("\n")
	return b.String()
}

// Conf is conf's answer.
func Conf(r Report) string {
	var b strings.Builder
	for _, s := range r.Conf {
		fmt.Fprintf(&b, "%s=%s\n", s.Key, s.Value)
	}
	return b.String()
}

// Envi is envi's answer: ZooKeeper's keys (java.* and all), with values
// of this process; version is zookeeper.version's.
func Envi(version string, env []Setting) string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	fmt.Fprintf(&b, "zookeeper.version=%s\n", version)
	for _, s := range env {
		fmt.Fprintf(&b, "%s=%s\n", s.Key, s.Value)
	}
	return b.String()
}

// Dirs is dirs's answer.
func Dirs(r Report) string {
	return fmt.Sprintf("datadir_size: %d\nlogdir_size: %d\n", r.DataDirSize, r.LogDirSize)
}

// Mntr is mntr's answer: every key of MntrKeys in its order, tab
// separated (MntrValues).
func Mntr(r Report) string {
	var b strings.Builder
	for _, kv := range MntrValues(r) {
		fmt.Fprintf(&b, "zk_%s\t%s\n", kv.Key, kv.Value)
	}
	return b.String()
}

// MntrValues are mntr's keys (without "zk_") in ZooKeeper's order, each
// with r.Metrics's value, or the value ZooKeeper shows for it unused.
func MntrValues(r Report) []Setting {
	out := make([]Setting, 0, len(MntrKeys))
	for _, k := range MntrKeys {
		v, ok := r.Metrics[k]
		if !ok {
			v = MntrZero(k)
		}
		out = append(out, Setting{Key: k, Value: v})
	}
	return out
}

// MntrZero is how ZooKeeper shows an unused key: averages as 0.0, the
// response sizes it has not measured as -1, the rest 0.
func MntrZero(k string) string {
	switch {
	case strings.HasPrefix(k, "avg_"), k == "connection_drop_probability":
		return "0.0"
	case k == "last_client_response_size", k == "max_client_response_size", k == "min_client_response_size":
		return "-1"
	}
	return "0"
}

// decimal formats x as ZooKeeper's doubles print: rounded to 4 places,
// at least places digits after the point.
func decimal(x float64, places int) string {
	x = math.Round(x*1e4) / 1e4
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += "." + strings.Repeat("0", places)
	}
	return s
}

// Decimal is decimal for the server's mntr values.
func Decimal(x float64) string { return decimal(x, 1) }

// SessionWatches are the paths one session watches, as wchc and wchp
// list them: ZooKeeper lists its data-watch table alone (getData and
// exists watches, persistent and recursive ones), not child watches.
type SessionWatches struct {
	Session int64
	Paths   []string // sorted, each once
}

// WatchSummary counts what wchs shows: the sessions that watch, the
// paths watched, the watches.
func WatchSummary(ws []SessionWatches) (sessions, paths, watches int) {
	seen := map[string]bool{}
	for _, w := range ws {
		if len(w.Paths) > 0 {
			sessions++
		}
		for _, p := range w.Paths {
			seen[p] = true
		}
		watches += len(w.Paths)
	}
	return sessions, len(seen), watches
}

// ByPath turns the lists round: the watched paths, sorted, and the
// sessions that watch each.
func ByPath(ws []SessionWatches) ([]string, map[string][]int64) {
	by := map[string][]int64{}
	var paths []string
	for _, w := range ws {
		for _, p := range w.Paths {
			if by[p] == nil {
				paths = append(paths, p)
			}
			by[p] = append(by[p], w.Session)
		}
	}
	slices.Sort(paths)
	return paths, by
}

// Wchs is wchs's answer.
func Wchs(ws []SessionWatches) string {
	sessions, paths, watches := WatchSummary(ws)
	return fmt.Sprintf("%d connections watching %d paths\nTotal watches:%d\n", sessions, paths, watches)
}

// Wchc is wchc's answer: each watching session and its paths.
func Wchc(ws []SessionWatches) string {
	var b strings.Builder
	for _, w := range ws {
		if len(w.Paths) > 0 {
			indented(&b, fmt.Sprintf("0x%x", w.Session), w.Paths)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Wchp is wchp's answer: each watched path and its sessions.
func Wchp(ws []SessionWatches) string {
	paths, by := ByPath(ws)
	var b strings.Builder
	for _, p := range paths {
		var ids []string
		for _, s := range by[p] {
			ids = append(ids, fmt.Sprintf("0x%x", s))
		}
		indented(&b, p, ids)
	}
	b.WriteString("\n")
	return b.String()
}

// indented writes head on a line of its own, then each item on one,
// after a tab.
func indented(b *strings.Builder, head string, items []string) {
	b.WriteString(head + "\n")
	for _, it := range items {
		b.WriteString("\t" + it + "\n")
	}
}

// Environment is envi's keys after zookeeper.version, in ZooKeeper's
// order, with this process's values: the java.* keys describe the Go
// runtime instead of a JVM.
func Environment() []Setting {
	host, _ := os.Hostname()
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	if user == "" {
		user = strconv.Itoa(os.Getuid())
	}
	var uts syscall.Utsname
	osVersion := "<NA>"
	if syscall.Uname(&uts) == nil {
		osVersion = utsString(uts.Release[:])
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mb := func(b uint64) string { return strconv.FormatUint(b>>20, 10) + "MB" }
	return []Setting{
		{Key: "host.name", Value: host},
		{Key: "java.version", Value: runtime.Version()},
		{Key: "java.vendor", Value: "Go (layerd has no JVM)"},
		{Key: "java.home", Value: "<NA>"},
		{Key: "java.class.path", Value: exe},
		{Key: "java.library.path", Value: os.Getenv("LD_LIBRARY_PATH")},
		{Key: "java.io.tmpdir", Value: os.TempDir()},
		{Key: "java.compiler", Value: "<NA>"},
		{Key: "os.name", Value: strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]},
		{Key: "os.arch", Value: runtime.GOARCH},
		{Key: "os.version", Value: osVersion},
		{Key: "user.name", Value: user},
		{Key: "user.home", Value: home},
		{Key: "user.dir", Value: wd},
		{Key: "os.memory.free", Value: mb(m.HeapIdle - m.HeapReleased)},
		{Key: "os.memory.max", Value: mb(m.Sys)},
		{Key: "os.memory.total", Value: mb(m.HeapSys)},
	}
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// DumpSession is one session dump shows: when it expires, its
// ephemerals, its connections.
type DumpSession struct {
	ID         int64
	Expires    time.Time
	Ephemerals []string
}

// DumpConn is one connection of dump's connections part.
type DumpConn struct {
	Remote  string // host:port
	Session int64  // 0 before the handshake
	Expires time.Time
}

// javaDate is how ZooKeeper's dump prints a time (Java's Date.toString).
const javaDate = "Mon Jan 02 15:04:05 MST 2006"

// Dump is dump's answer: the sessions by expiry time, their ephemerals,
// the connections by expiry time.
func Dump(sessions []DumpSession, conns []DumpConn) string {
	var b strings.Builder
	b.WriteString("SessionTracker dump:\n")
	byExpiry(&b, "Session", sessions, func(s DumpSession) time.Time { return s.Expires },
		func(s DumpSession) string { return fmt.Sprintf("0x%x", s.ID) })
	b.WriteString("ephemeral nodes dump:\n")
	with := 0
	for _, s := range sessions {
		if len(s.Ephemerals) > 0 {
			with++
		}
	}
	fmt.Fprintf(&b, "Sessions with Ephemerals (%d):\n", with)
	for _, s := range sessions {
		if len(s.Ephemerals) > 0 {
			indented(&b, fmt.Sprintf("0x%x:", s.ID), s.Ephemerals)
		}
	}
	b.WriteString("Connections dump:\n")
	byExpiry(&b, "Connections", conns, func(c DumpConn) time.Time { return c.Expires },
		func(c DumpConn) string { return fmt.Sprintf("ip: /%s sessionId: 0x%x", c.Remote, c.Session) })
	return b.String()
}

// byExpiry writes items in sets of those that expire at the same second,
// in time order, as dump lists sessions and connections: "KIND Sets
// (sets)/(items):", then each set's size, time and items.
func byExpiry[T any](b *strings.Builder, kind string, items []T, at func(T) time.Time, line func(T) string) {
	sets := map[string][]string{}
	var times []time.Time
	for _, it := range items {
		k := at(it).Format(javaDate)
		if sets[k] == nil {
			times = append(times, at(it))
		}
		sets[k] = append(sets[k], line(it))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	fmt.Fprintf(b, "%s Sets (%d)/(%d):\n", kind, len(times), len(items))
	for _, t := range times {
		set := sets[t.Format(javaDate)]
		indented(b, fmt.Sprintf("%d expire at %s:", len(set), t.Format(javaDate)), set)
	}
}
