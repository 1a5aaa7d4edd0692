package proccluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

// Registers drives clients that read and write a few znodes through every
// layerd and records what each call returned and when, so that the
// history can be checked for linearizability (porcupine) against a model
// of ZooKeeper's versioned registers: setData with version -1 always
// applies and returns the next version; setData with an expected version
// applies only at that version (else BADVERSION); sync then getData
// returns the latest value and version. A call that fails without a
// definite answer (connection loss, a session moved) may or may not have
// applied: it is recorded as returning at the end of time, which lets the
// checker place it anywhere after its call, or nowhere. The same clients
// create and delete children of one parent and list them, checked against
// a children-set model (childrenModel), and make sequential nodes, checked
// by CheckSequentials.
type Registers struct {
	// Addrs is the connect string's servers.
	Addrs []string
	// Base is the parent of the registers; it must exist.
	Base string
	// Keys is how many registers; default 4.
	Keys int
	// Clients is how many sessions drive them; default 4.
	Clients int
	// Timeout is the clients' session timeout; default 6 s.
	Timeout time.Duration

	start   time.Time
	mu      sync.Mutex
	ops     []porcupine.Operation
	counts  RegisterCounts
	expired []int64 // sessions that saw StateExpired
	// Sequential creates under Base/seq: acknowledged ones by their data,
	// with the path they were given; those of unknown outcome by data.
	seqAcked   map[string]string
	seqUnknown map[string]bool
	// The children-set model's history.
	setOps []porcupine.Operation
}

// RegisterCounts sums up a run.
type RegisterCounts struct {
	Writes, Reads, BadVersions, Unknown, ReadErrors int
	// Sequential creates: acknowledged, and of unknown outcome.
	SeqCreates, SeqUnknown int
	// Operations of the children-set model recorded.
	SetOps int
}

type regInput struct {
	key     int
	read    bool
	value   string
	version int32 // expected version of a conditional write; -1: none
}

type regOutput struct {
	value      string
	version    int32
	badVersion bool
	unknown    bool
}

type regState struct {
	value   string
	version int32
}

// registerModel is the versioned register, partitioned by key.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(regInput).key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]int, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return regState{value: "init", version: 0} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(regState), input.(regInput), output.(regOutput)
		if in.read {
			return out.value == s.value && out.version == s.version, s
		}
		next := regState{value: in.value, version: s.version + 1}
		switch {
		case out.unknown:
			// It may have applied (here), or not (linearized at the end,
			// where the checker's choice cannot matter): a conditional
			// write that did not match cannot have applied.
			if in.version >= 0 && in.version != s.version {
				return true, s
			}
			return true, next
		case out.badVersion:
			return in.version >= 0 && in.version != s.version, s
		default:
			return (in.version < 0 || in.version == s.version) && out.version == next.version, next
		}
	},
	Equal: func(a, b any) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		switch {
		case in.read:
			return fmt.Sprintf("get(r%d) -> %q v%d", in.key, out.value, out.version)
		case out.unknown:
			return fmt.Sprintf("set(r%d, %q, v%d) -> unknown", in.key, in.value, in.version)
		case out.badVersion:
			return fmt.Sprintf("set(r%d, %q, v%d) -> BADVERSION", in.key, in.value, in.version)
		default:
			return fmt.Sprintf("set(r%d, %q, v%d) -> v%d", in.key, in.value, in.version, out.version)
		}
	},
	DescribeState: func(state any) string {
		s := state.(regState)
		return fmt.Sprintf("%q v%d", s.value, s.version)
	},
}

// The children-set model: the children of Base/set, among setMembers
// names m0, m1, ..., as a bit set. getChildren (after sync) returns the
// set; create of a member applies if it is absent (else NODEEXISTS),
// delete if it is present (else NONODE). A call without a definite
// answer may have applied or not, as for the registers.
const setMembers = 6

type setOpKind int

const (
	setList setOpKind = iota
	setCreate
	setDelete
)

func (k setOpKind) String() string {
	return [...]string{"getChildren", "create", "delete"}[k]
}

type setInput struct {
	op     setOpKind
	member int
}

type setOutput struct {
	members uint8 // of a list
	failed  bool  // NODEEXISTS or NONODE
	unknown bool
}

var childrenModel = porcupine.Model{
	Init: func() any { return uint8(0) },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(uint8), input.(setInput), output.(setOutput)
		bit := uint8(1) << in.member
		present := s&bit != 0
		switch in.op {
		case setList:
			return out.members == s, s
		case setCreate:
			switch {
			case out.unknown && present:
				return true, s
			case out.unknown, !out.failed:
				return !present, s | bit
			default:
				return present, s
			}
		default:
			switch {
			case out.unknown && !present:
				return true, s
			case out.unknown, !out.failed:
				return present, s &^ bit
			default:
				return !present, s
			}
		}
	},
	Equal: func(a, b any) bool { return a.(uint8) == b.(uint8) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(setInput), output.(setOutput)
		switch {
		case in.op == setList:
			return fmt.Sprintf("getChildren -> %06b", out.members)
		case out.unknown:
			return fmt.Sprintf("%v(m%d) -> unknown", in.op, in.member)
		default:
			return fmt.Sprintf("%v(m%d) -> failed %v", in.op, in.member, out.failed)
		}
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%06b", state.(uint8)) },
}

func (r *Registers) path(k int) string { return fmt.Sprintf("%s/r%d", r.Base, k) }

// Setup creates the registers, each with value "init" at version 0.
func (r *Registers) Setup(conn *zk.Conn) error {
	if r.Keys == 0 {
		r.Keys = 4
	}
	if r.Clients == 0 {
		r.Clients = 4
	}
	if r.Timeout == 0 {
		r.Timeout = 6 * time.Second
	}
	for k := range r.Keys {
		if _, err := conn.Create(r.path(k), []byte("init"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			return fmt.Errorf("create %s: %w", r.path(k), err)
		}
	}
	for _, sub := range []string{"/seq", "/set"} {
		if _, err := conn.Create(r.Base+sub, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			return fmt.Errorf("create %s%s: %w", r.Base, sub, err)
		}
	}
	r.seqAcked, r.seqUnknown = map[string]string{}, map[string]bool{}
	r.start = time.Now()
	return nil
}

// Run drives the clients until ctx ends. It fails only if a client cannot
// connect at all.
func (r *Registers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, r.Clients)
	for id := range r.Clients {
		conn, events, err := zk.Connect(r.Addrs, r.Timeout, zk.WithLogger(nopLogger{}))
		if err != nil {
			return err
		}
		wg.Go(func() {
			for ev := range events {
				if ev.State == zk.StateExpired {
					r.mu.Lock()
					r.expired = append(r.expired, conn.SessionID())
					r.mu.Unlock()
				}
			}
		})
		wg.Go(func() {
			defer conn.Close()
			errs <- r.client(ctx, id, conn)
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (r *Registers) client(ctx context.Context, id int, conn *zk.Conn) error {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	lastVersion := map[int]int32{}
	for seq := 0; ctx.Err() == nil; seq++ {
		switch p := rng.IntN(20); {
		case p < 2:
			r.createSequential(ctx, conn, fmt.Sprintf("c%d-%d", id, seq))
			continue
		case p < 6:
			r.setOp(ctx, id, conn, setInput{op: setOpKind(rng.IntN(3)), member: rng.IntN(setMembers)})
			continue
		}
		k := rng.IntN(r.Keys)
		in := regInput{key: k, version: -1}
		switch p := rng.IntN(10); {
		case p < 5:
			in.read = true
		case p < 7:
			in.version = lastVersion[k]
			fallthrough
		default:
			in.value = fmt.Sprintf("c%d-%d", id, seq)
		}
		call := time.Since(r.start).Nanoseconds()
		var out regOutput
		var err error
		if in.read {
			// ZooKeeper's reads are linearizable only after a sync.
			if _, err = conn.Sync(r.path(k)); err == nil {
				var data []byte
				var st *zk.Stat
				if data, st, err = conn.Get(r.path(k)); err == nil {
					out.value, out.version = string(data), st.Version
					lastVersion[k] = st.Version
				}
			}
		} else {
			var st *zk.Stat
			st, err = conn.Set(r.path(k), []byte(in.value), in.version)
			if err == nil {
				out.version = st.Version
				lastVersion[k] = st.Version
			}
		}
		ret := time.Since(r.start).Nanoseconds()
		r.mu.Lock()
		switch {
		case err == nil:
			if in.read {
				r.counts.Reads++
			} else {
				r.counts.Writes++
			}
		case in.read:
			// A failed read changed nothing: it is left out.
			r.counts.ReadErrors++
			r.mu.Unlock()
			continue
		case errors.Is(err, zk.ErrBadVersion):
			out.badVersion = true
			r.counts.BadVersions++
		default:
			out.unknown = true
			ret = math.MaxInt64
			r.counts.Unknown++
		}
		r.ops = append(r.ops, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
		r.mu.Unlock()
		if err != nil && !errors.Is(err, zk.ErrBadVersion) {
			// Connection lost or the like: wait a moment rather than spin.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// setOp runs one operation of the children-set model and records it.
func (r *Registers) setOp(ctx context.Context, id int, conn *zk.Conn, in setInput) {
	dir := r.Base + "/set"
	call := time.Since(r.start).Nanoseconds()
	var out setOutput
	var err error
	switch in.op {
	case setList:
		if _, err = conn.Sync(dir); err == nil {
			var names []string
			if names, _, err = conn.Children(dir); err == nil {
				for _, n := range names {
					var m int
					if _, serr := fmt.Sscanf(n, "m%d", &m); serr != nil || m < 0 || m >= setMembers {
						err = fmt.Errorf("unexpected child %q", n)
						break
					}
					out.members |= 1 << m
				}
			}
		}
	case setCreate:
		_, err = conn.Create(fmt.Sprintf("%s/m%d", dir, in.member), nil, 0, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNodeExists) {
			out.failed, err = true, nil
		}
	case setDelete:
		err = conn.Delete(fmt.Sprintf("%s/m%d", dir, in.member), -1)
		if errors.Is(err, zk.ErrNoNode) {
			out.failed, err = true, nil
		}
	}
	ret := time.Since(r.start).Nanoseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
	case in.op == setList:
		r.counts.ReadErrors++
		return
	default:
		out.unknown, ret = true, math.MaxInt64
		r.counts.Unknown++
	}
	r.counts.SetOps++
	r.setOps = append(r.setOps, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
}

// createSequential creates a sequential child of Base/seq holding data,
// and records what came back.
func (r *Registers) createSequential(ctx context.Context, conn *zk.Conn, data string) {
	path, err := conn.Create(r.Base+"/seq/n-", []byte(data), zk.FlagSequence, zk.WorldACL(zk.PermAll))
	r.mu.Lock()
	if err == nil {
		r.seqAcked[data] = path
		r.counts.SeqCreates++
	} else {
		r.seqUnknown[data] = true
		r.counts.SeqUnknown++
	}
	r.mu.Unlock()
	if err != nil {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// CheckSequentials reads Base/seq through conn and checks that every
// acknowledged sequential create is there, at the path it was given and
// once, and that a create of unknown outcome made at most one node: a
// retry after commit_unknown_result must not create twice.
func (r *Registers) CheckSequentials(conn *zk.Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := conn.Sync(r.Base + "/seq"); err != nil {
		return err
	}
	children, _, err := conn.Children(r.Base + "/seq")
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for _, name := range children {
		path := r.Base + "/seq/" + name
		data, _, err := conn.Get(path)
		if err != nil {
			return fmt.Errorf("get %s: %w", path, err)
		}
		d := string(data)
		if other, dup := seen[d]; dup {
			return fmt.Errorf("one create made two nodes: %s and %s hold %q", other, path, d)
		}
		seen[d] = path
		if acked, ok := r.seqAcked[d]; ok && acked != path {
			return fmt.Errorf("%q was acknowledged at %s but is at %s", d, acked, path)
		}
		if _, ok := r.seqAcked[d]; !ok && !r.seqUnknown[d] {
			return fmt.Errorf("%s holds %q, which no create wrote", path, d)
		}
	}
	for d, path := range r.seqAcked {
		if _, ok := seen[d]; !ok {
			return fmt.Errorf("acknowledged create of %s (%q) is lost", path, d)
		}
	}
	return nil
}

// Check checks the history recorded so far and returns the counts, or an
// error that describes the first non-linearizable register.
func (r *Registers) Check(timeout time.Duration) (RegisterCounts, error) {
	r.mu.Lock()
	ops := append([]porcupine.Operation(nil), r.ops...)
	setOps := append([]porcupine.Operation(nil), r.setOps...)
	counts := r.counts
	expired := append([]int64(nil), r.expired...)
	r.mu.Unlock()
	if len(expired) > 0 {
		return counts, fmt.Errorf("sessions expired during the run: %x", expired)
	}
	switch porcupine.CheckOperationsTimeout(childrenModel, setOps, timeout) {
	case porcupine.Illegal:
		return counts, fmt.Errorf("the children-set history of %d operations is not linearizable", len(setOps))
	case porcupine.Unknown:
		return counts, fmt.Errorf("linearizability check of %d children-set operations timed out after %v", len(setOps), timeout)
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, timeout)
	switch res {
	case porcupine.Ok:
		return counts, nil
	case porcupine.Unknown:
		return counts, fmt.Errorf("linearizability check of %d operations timed out after %v", len(ops), timeout)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "history of %d operations is not linearizable", len(ops))
	for i, partial := range info.PartialLinearizations() {
		if len(partial) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\npartition %d: longest linearizable prefix of %d operations", i, len(partial[0]))
	}
	return counts, errors.New(b.String())
}

// Ops returns how many operations the histories hold.
func (r *Registers) Ops() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops) + len(r.setOps)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
