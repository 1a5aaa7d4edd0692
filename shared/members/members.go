// Package members is the sweeperd cluster: hashicorp/memberlist gossip
// among the sweepers, and the owner of each expiry-index shard chosen by
// rendezvous hashing over the live members (DESIGN.md §4). When a member
// dies its shards move to the others within memberlist's failure
// detection; when it comes back they move back. Ownership needs no
// agreement: two owners of a shard for a moment is harmless, since every
// sweep checks again what it deletes.
package members

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"go.uber.org/zap/zapio"
)

// Config configures a member.
type Config struct {
	// Name is the member's name, unique in the cluster.
	Name string
	// Bind is the gossip address, host:port (port 0: any free port).
	Bind string
	// Advertise is the address other members reach this one at; empty:
	// Bind (or a private address of the host when Bind is 0.0.0.0).
	Advertise string
	// Join lists members to join, host:port each; none: start a cluster.
	Join []string
	// Prefer, if set, names for a shard the hosts (IP addresses) that
	// store its key range (FoundationDB's locality API): a live member on
	// one of them owns the shard before any other.
	Prefer func(shard int) []string
	// Logger receives memberlist's logs (at debug) and membership changes.
	Logger *zap.Logger
	// Tune, if set, adjusts memberlist's configuration (LAN defaults)
	// before it starts; tests shorten its intervals.
	Tune func(*memberlist.Config)
	// RejoinInterval is how often a member that sees no other tries
	// Join's members again; default 5 s. Members started together would
	// otherwise each fail to join the others, and run alone for good.
	RejoinInterval time.Duration
}

// Loopback tunes memberlist for members on one host (tests, a one-machine
// cluster): probes, gossip and state syncs every few tens of milliseconds,
// so that a dead member is found within a second, and a member back at a
// new port takes its name back at once. Pass it as Config.Tune.
func Loopback(c *memberlist.Config) {
	c.ProbeInterval = 50 * time.Millisecond
	c.ProbeTimeout = 25 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 200 * time.Millisecond
	c.SuspicionMult = 2
	c.DeadNodeReclaimTime = 100 * time.Millisecond
}

// Member is this process in the cluster.
type Member struct {
	ml     *memberlist.Memberlist
	name   string
	prefer func(int) []string
	log    *zap.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every membership change

	stopOnce   sync.Once
	stopRejoin chan struct{}
	rejoining  sync.WaitGroup
}

// Start joins (or starts) the cluster.
func Start(cfg Config) (*Member, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("members: no node name")
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.Named("members")
	m := &Member{name: cfg.Name, prefer: cfg.Prefer, log: lg, changed: make(chan struct{}), stopRejoin: make(chan struct{})}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	host, port, err := splitHostPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("members: bind: %w", err)
	}
	mc.BindAddr, mc.BindPort = host, port
	if cfg.Advertise != "" {
		host, port, err := splitHostPort(cfg.Advertise)
		if err != nil {
			return nil, fmt.Errorf("members: advertise: %w", err)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = host, port
	}
	// A member that comes back at another address (a restart on port 0,
	// a new IP) takes its name back once the old one has been dead this
	// long; memberlist's default is never.
	mc.DeadNodeReclaimTime = 30 * time.Second
	mc.Events = (*events)(m)
	mc.LogOutput = nil
	mc.Logger = log.New(&zapio.Writer{Log: lg, Level: zap.DebugLevel}, "", 0)
	if cfg.Tune != nil {
		cfg.Tune(mc)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	m.ml = ml
	if len(cfg.Join) > 0 {
		if _, err := ml.Join(cfg.Join); err != nil {
			// Not fatal: the others may start later; rejoin tries again.
			lg.Warn("joining the cluster failed; running alone until a member is reached", zap.Strings("join", cfg.Join), zap.Error(err))
		}
		every := cfg.RejoinInterval
		if every <= 0 {
			every = 5 * time.Second
		}
		m.rejoining.Go(func() { m.rejoin(cfg.Join, every) })
	}
	lg.Info("member started", zap.String("name", cfg.Name), zap.String("address", ml.LocalNode().Address()))
	return m, nil
}

func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", hp)
	}
	return host, port, nil
}

// Addr returns the address this member gossips at (host:port).
func (m *Member) Addr() string { return m.ml.LocalNode().Address() }

// Name returns this member's name.
func (m *Member) Name() string { return m.name }

// Live returns the live members, this one included, sorted by name.
func (m *Member) Live() []*memberlist.Node {
	nodes := m.ml.Members() // alive and suspect, not dead or left
	slices.SortFunc(nodes, func(a, b *memberlist.Node) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return nodes
}

// Owner returns the name of the live member that owns shard: among the
// members on a preferred host if any is live, else among all, the one
// with the highest rendezvous hash of (name, shard).
func (m *Member) Owner(shard int) string {
	return owner(m.Live(), shard, m.prefer)
}

// Owns reports whether this member owns shard now.
func (m *Member) Owns(shard int) bool { return m.Owner(shard) == m.name }

// Changed returns a channel closed at the next membership change.
func (m *Member) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// rejoin tries the join list again, every interval, while this member
// sees no other, until the member stops.
func (m *Member) rejoin(join []string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stopRejoin:
			return
		case <-t.C:
		}
		if m.ml.NumMembers() > 1 {
			continue
		}
		if n, err := m.ml.Join(join); err == nil {
			m.log.Info("joined the cluster", zap.Int("contacted", n))
		}
	}
}

func (m *Member) stopRejoining() {
	m.stopOnce.Do(func() { close(m.stopRejoin) })
	m.rejoining.Wait()
}

// Leave tells the others this member is going, then stops it.
func (m *Member) Leave() error {
	m.stopRejoining()
	err := m.ml.Leave(5 * time.Second)
	if serr := m.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

// Stop stops gossiping without telling the others, as a crash would: they
// find out by failure detection.
func (m *Member) Stop() error {
	m.stopRejoining()
	return m.ml.Shutdown()
}

func owner(nodes []*memberlist.Node, shard int, prefer func(int) []string) string {
	candidates := nodes
	if prefer != nil {
		hosts := prefer(shard)
		var local []*memberlist.Node
		for _, n := range nodes {
			if slices.Contains(hosts, n.Addr.String()) {
				local = append(local, n)
			}
		}
		if len(local) > 0 {
			candidates = local
		}
	}
	best, bestScore := "", uint64(0)
	for _, n := range candidates {
		if s := score(n.Name, shard); best == "" || s > bestScore || (s == bestScore && n.Name < best) {
			best, bestScore = n.Name, s
		}
	}
	return best
}

// score is the rendezvous hash of a member and a shard: FNV-1a (64-bit)
// of the name and the shard, mixed by MurmurHash3's finalizer (FNV alone
// lets names that differ in one byte rank the same way for every shard),
// so every member computes the same owner.
func score(name string, shard int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(shard)))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// events receives memberlist's membership changes.
type events Member

func (e *events) NotifyJoin(n *memberlist.Node)   { e.notify("member joined", n) }
func (e *events) NotifyLeave(n *memberlist.Node)  { e.notify("member left or died", n) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.notify("member updated", n) }

func (e *events) notify(what string, n *memberlist.Node) {
	e.log.Info(what, zap.String("member", n.Name), zap.String("address", n.Address()))
	e.mu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// Register exports the membership on reg: members_alive (the live members
// this one sees, itself included) and members_health_score (memberlist's
// awareness score: 0 is healthy; it rises while this member fails to
// probe others or answer in time, a sign of its own network or CPU
// trouble rather than theirs).
func (m *Member) Register(reg prometheus.Registerer) {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "members_alive", Help: "Live members of the sweeper cluster this one sees, itself included."},
		func() float64 { return float64(len(m.Live())) })
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "members_health_score", Help: "memberlist's awareness (health) score of this member: 0 is healthy, higher means it is slow to probe or answer."},
		func() float64 { return float64(m.ml.GetHealthScore()) })
}
