package load

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Workload names what every request of a run does.
type Workload string

// The workloads. Each session works on its own nodes except GetChildren,
// where every session lists the same parent.
const (
	// Create creates distinct persistent nodes (no sequence flag), Value
	// bytes each, under a parent per session.
	Create Workload = "create"
	// Delete deletes persistent nodes (version -1), Value bytes each, that
	// the run created before its phases (deletePool): every worker takes
	// the next node in creation order, and a phase also ends when none is
	// left.
	Delete Workload = "delete"
	// SetData overwrites the session's own node (version -1).
	SetData Workload = "setData"
	// GetData reads the session's own node.
	GetData Workload = "getData"
	// MultiRead reads MultiReadNodes nodes of the session's own, Value
	// bytes each, in one multiRead of getData ops (opcode 22, ZooKeeper
	// 3.6 and later), over a session of its own per session (pipe):
	// go-zookeeper has no multiRead.
	MultiRead Workload = "multiRead"
	// GetChildren lists one parent with Config.Children children.
	GetChildren Workload = "getChildren"
	// Mixed reads (getData) or writes (setData) the session's own node, with
	// Config.ReadPercent reads.
	Mixed Workload = "mixed"
	// Watch measures watch delivery: a session sets a data watch on its
	// node (getData), the next session writes the node, and the request's
	// latency runs from the write to the event's arrival.
	Watch Workload = "watch"
	// Lock has every worker contend for one lock with ZooKeeper's lock
	// recipe (an ephemeral sequential node; an exists watch on the one
	// before it); a request is one acquisition and release.
	Lock Workload = "lock"
)

// Expiry measures ephemeral expiry: a fresh session (asking for
// ExpiryTimeout) creates an ephemeral node, another session watches it,
// the first session's connection is cut without closing the session, and
// the request's latency runs from the cut to NodeDeleted: the timeout plus
// the server's expiry lag. Each request takes at least ExpiryTimeout, so
// it is not part of "all".
const Expiry Workload = "expiry"

// Exists checks the session's own node (an exists without a watch). It is
// run only when named: it costs what GetData does but for the data, and
// is there to measure that (docs/fdb.md).
const Exists Workload = "exists"

// Session opens a new session and closes it: a request is the handshake
// (ZooKeeper's createSession, a write) and closeSession, on a connection
// of its own, spoken without go-zookeeper so that the load tool stays
// light (rawSession). It is run only when named.
const Session Workload = "session"

// ExpiryTimeout is the session timeout of Expiry's sessions: the shortest
// both ZooKeeper (2 ticks of 2 s) and layerd grant by default.
const ExpiryTimeout = 4 * time.Second

// Workloads lists the workloads "all" runs, in the order zkload runs them.
var Workloads = []Workload{Create, Delete, SetData, GetData, MultiRead, GetChildren, Mixed, Watch, Lock}

// MultiReadNodes is the number of getData ops in each of MultiRead's
// multiReads.
const MultiReadNodes = 8

// known lists every workload, "all" and the rest.
var known = append(slices.Clone(Workloads), Expiry, Exists, Session)

// ParseWorkloads parses a comma-separated list of workload names, or "all".
func ParseWorkloads(s string) ([]Workload, error) {
	if s == "all" {
		return Workloads, nil
	}
	var ws []Workload
	for name := range strings.SplitSeq(s, ",") {
		w := Workload(strings.TrimSpace(name))
		found := false
		for _, k := range known {
			if strings.EqualFold(string(w), string(k)) {
				w, found = k, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q (want %s or all)", name, workloadNames())
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func workloadNames() string {
	names := make([]string, len(known))
	for i, w := range known {
		names[i] = string(w)
	}
	return strings.Join(names, ", ")
}

// Defaults of the Config fields; a zero field means its default.
const (
	DefaultSessions       = 64
	DefaultDepth          = 1
	DefaultValueSize      = 100
	DefaultDuration       = 10 * time.Second
	DefaultWarmup         = time.Second
	DefaultChildren       = 100
	DefaultReadPercent    = 80
	DefaultPrefix         = "/zkload"
	DefaultSessionTimeout = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// Config is what a run does, the same for every target compared. A zero
// field means its default.
type Config struct {
	// Sessions is the number of ZooKeeper sessions, each its own connection.
	Sessions int
	// Depth is the number of goroutines per session issuing synchronous
	// requests, that is the requests in flight per connection.
	Depth int
	// ValueSize is the size in bytes of the data written by Create,
	// SetData and Mixed, and of the nodes read by GetData and Mixed.
	ValueSize int
	// Duration is how long the measured phase lasts, unless Ops is set.
	Duration time.Duration
	// Ops, if positive, is the exact number of requests of the measured
	// phase, over all sessions; Duration is then ignored.
	Ops int64
	// Warmup is how long the workload runs unmeasured before the measured
	// phase; negative means no warm-up.
	Warmup time.Duration
	// Children is the number of children of GetChildren's parent.
	Children int
	// ReadPercent is the share of getData requests in Mixed, in percent;
	// the rest are setData. 100 means only reads; for only writes run
	// SetData.
	ReadPercent int
	// Prefix is the path of which each run's root is a sibling with a
	// random suffix ("/zkload" gives roots like "/zkload-3f2a…"). Its
	// parent must exist.
	Prefix string
	// SessionTimeout is the session timeout the client asks for.
	SessionTimeout time.Duration
	// ConnectTimeout bounds how long opening all sessions may take.
	ConnectTimeout time.Duration
	// Keep leaves the run's root in place instead of deleting it (for
	// inspection; Cleanup deletes it later).
	Keep bool
	// Progress, if set, gets a progress line, redrawn every second, while
	// a measured phase runs (a terminal: zkload gives its stderr).
	Progress io.Writer
}

// withDefaults returns c with zero fields set to their defaults, or an
// error for values that make no sense. It is idempotent: a negative Warmup
// stays negative.
func (c Config) withDefaults() (Config, error) {
	setDefault(&c.Sessions, DefaultSessions)
	setDefault(&c.Depth, DefaultDepth)
	setDefault(&c.ValueSize, DefaultValueSize)
	setDefault(&c.Duration, DefaultDuration)
	setDefault(&c.Warmup, DefaultWarmup)
	setDefault(&c.Children, DefaultChildren)
	setDefault(&c.ReadPercent, DefaultReadPercent)
	setDefault(&c.Prefix, DefaultPrefix)
	setDefault(&c.SessionTimeout, DefaultSessionTimeout)
	setDefault(&c.ConnectTimeout, DefaultConnectTimeout)
	switch {
	case c.Sessions < 0, c.Depth < 0, c.ValueSize < 0, c.Children < 0, c.Ops < 0:
		return c, fmt.Errorf("negative sessions, depth, value size, children or ops in %+v", c)
	case c.Duration < 0, c.SessionTimeout < 0, c.ConnectTimeout < 0:
		return c, fmt.Errorf("negative duration or timeout in %+v", c)
	case c.ReadPercent < 0 || c.ReadPercent > 100:
		return c, fmt.Errorf("read percent %d is not in 0..100", c.ReadPercent)
	case !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/"):
		return c, fmt.Errorf("prefix %q: want an absolute path not ending in /", c.Prefix)
	}
	return c, nil
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}
