package difftest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// The steps. Each sends one request through go-zookeeper (opcodes in
// ZK-SEMANTICS §3) and records its answer. go-zookeeper checks paths
// itself before sending (empty, relative, "//", "." and ".." segments,
// control characters, U+F000–F8FF, U+FFF0–FFFE): such a step records
// CLIENT(invalid path) without reaching the server, so the cases use the
// bad paths it lets through.

// Create sends create (1) and returns the created path relative to the
// root ("" on error).
func (s *Session) Create(path string, data []byte, flags int32, acl []zk.ACL) string {
	p := s.r.abs(path)
	var got string
	err := s.call(func() (err error) { got, err = s.conn.Create(p, data, flags, acl); return })
	e := s.r.record(s, fmt.Sprintf("create %s %s flags=%d acl=%s", s.r.show(p), fmtData(data), flags, fmtACL(acl)), err)
	if err != nil {
		return ""
	}
	e.add(" path=" + s.r.show(got))
	return s.r.rel(got)
}

// CreateContainer sends createContainer (19), which answers like create2.
func (s *Session) CreateContainer(path string, data []byte, acl []zk.ACL) string {
	p := s.r.abs(path)
	var got string
	err := s.call(func() (err error) { got, err = s.conn.CreateContainer(p, data, zk.FlagContainer, acl); return })
	e := s.r.record(s, fmt.Sprintf("createContainer %s %s acl=%s", s.r.show(p), fmtData(data), fmtACL(acl)), err)
	if err != nil {
		return ""
	}
	e.add(" path=" + s.r.show(got))
	return s.r.rel(got)
}

// CreateTTL sends createTTL (21) with flags 5 or 6 and ttl in ms.
func (s *Session) CreateTTL(path string, data []byte, flags int32, acl []zk.ACL, ttl time.Duration) string {
	p := s.r.abs(path)
	var got string
	err := s.call(func() (err error) { got, err = s.conn.CreateTTL(p, data, flags, acl, ttl); return })
	e := s.r.record(s, fmt.Sprintf("createTTL %s %s flags=%d acl=%s ttl=%dms", s.r.show(p), fmtData(data), flags, fmtACL(acl), ttl.Milliseconds()), err)
	if err != nil {
		return ""
	}
	e.add(" path=" + s.r.show(got))
	return s.r.rel(got)
}

// Delete sends delete (2).
func (s *Session) Delete(path string, version int32) {
	p := s.r.abs(path)
	err := s.call(func() error { return s.conn.Delete(p, version) })
	s.r.record(s, fmt.Sprintf("delete %s v=%d", s.r.show(p), version), err)
}

// Exists sends exists (3) and returns the Stat, nil if the node is missing.
func (s *Session) Exists(path string) *zk.Stat { return s.exists(path, false) }

// ExistsW is Exists with a watch (an exist watch if the node is missing).
func (s *Session) ExistsW(path string) *zk.Stat { return s.exists(path, true) }

func (s *Session) exists(path string, watch bool) *zk.Stat {
	p := s.r.abs(path)
	var (
		ok bool
		st *zk.Stat
	)
	err := s.call(func() (err error) {
		if watch {
			ok, st, _, err = s.conn.ExistsW(p)
		} else {
			ok, st, err = s.conn.Exists(p)
		}
		return
	})
	if err == nil && !ok {
		err = zk.ErrNoNode // go-zookeeper folds NONODE into ok == false
	}
	e := s.r.record(s, fmt.Sprintf("exists%s %s", w(watch), s.r.show(p)), err)
	if err != nil {
		return nil
	}
	s.r.stat(e, st)
	return st
}

func w(watch bool) string {
	if watch {
		return "W"
	}
	return ""
}

// Get sends getData (4) and returns the data and Stat.
func (s *Session) Get(path string) ([]byte, *zk.Stat) { return s.get(path, false) }

// GetW is Get with a data watch.
func (s *Session) GetW(path string) ([]byte, *zk.Stat) { return s.get(path, true) }

func (s *Session) get(path string, watch bool) ([]byte, *zk.Stat) {
	p := s.r.abs(path)
	var (
		data []byte
		st   *zk.Stat
	)
	err := s.call(func() (err error) {
		if watch {
			data, st, _, err = s.conn.GetW(p)
		} else {
			data, st, err = s.conn.Get(p)
		}
		return
	})
	e := s.r.record(s, fmt.Sprintf("getData%s %s", w(watch), s.r.show(p)), err)
	if err != nil {
		return nil, nil
	}
	e.add(" data=" + fmtData(data))
	s.r.stat(e, st)
	return data, st
}

// Set sends setData (5) and returns the new Stat.
func (s *Session) Set(path string, data []byte, version int32) *zk.Stat {
	p := s.r.abs(path)
	var st *zk.Stat
	err := s.call(func() (err error) { st, err = s.conn.Set(p, data, version); return })
	e := s.r.record(s, fmt.Sprintf("setData %s %s v=%d", s.r.show(p), fmtData(data), version), err)
	if err != nil {
		return nil
	}
	s.r.stat(e, st)
	return st
}

// GetACL sends getACL (6).
func (s *Session) GetACL(path string) []zk.ACL {
	p := s.r.abs(path)
	var (
		acl []zk.ACL
		st  *zk.Stat
	)
	err := s.call(func() (err error) { acl, st, err = s.conn.GetACL(p); return })
	e := s.r.record(s, "getACL "+s.r.show(p), err)
	if err != nil {
		return nil
	}
	e.add(" acl=" + fmtACL(acl))
	s.r.stat(e, st)
	return acl
}

// SetACL sends setACL (7); version is checked against aversion.
func (s *Session) SetACL(path string, acl []zk.ACL, version int32) *zk.Stat {
	p := s.r.abs(path)
	var st *zk.Stat
	err := s.call(func() (err error) { st, err = s.conn.SetACL(p, acl, version); return })
	e := s.r.record(s, fmt.Sprintf("setACL %s %s v=%d", s.r.show(p), fmtACL(acl), version), err)
	if err != nil {
		return nil
	}
	s.r.stat(e, st)
	return st
}

// Children sends getChildren2 (12; go-zookeeper never sends 8) and
// returns the children.
func (s *Session) Children(path string) []string { return s.children(path, false, nil) }

// ChildrenW is Children with a child watch.
func (s *Session) ChildrenW(path string) []string { return s.children(path, true, nil) }

// ChildrenOf is Children recording only which of names are children:
// for the real root, whose other children belong to whoever shares the
// server.
func (s *Session) ChildrenOf(path string, names ...string) []string {
	return s.children(path, false, names)
}

func (s *Session) children(path string, watch bool, only []string) []string {
	p := s.r.abs(path)
	var (
		ch []string
		st *zk.Stat
	)
	err := s.call(func() (err error) {
		if watch {
			ch, st, _, err = s.conn.ChildrenW(p)
		} else {
			ch, st, err = s.conn.Children(p)
		}
		return
	})
	req := fmt.Sprintf("getChildren2%s %s", w(watch), s.r.show(p))
	if only != nil {
		req += " only " + strings.Join(only, ",")
	}
	e := s.r.record(s, req, err)
	if err != nil {
		return nil
	}
	shown := ch
	if only != nil {
		shown = slices.DeleteFunc(slices.Clone(ch), func(c string) bool { return !slices.Contains(only, c) })
	}
	e.add(" children=" + fmtChildren(shown))
	s.r.stat(e, st)
	return ch
}

// Sync sends sync (9) and records the path it echoes.
func (s *Session) Sync(path string) {
	p := s.r.abs(path)
	var got string
	err := s.call(func() (err error) { got, err = s.conn.Sync(p); return })
	e := s.r.record(s, "sync "+s.r.show(p), err)
	if err == nil {
		e.add(" path=" + s.r.show(got))
	}
}

// AddAuth sends auth (100). A failed auth makes ZooKeeper close the
// connection, and go-zookeeper would then reconnect in a loop; cases only
// send schemes that succeed.
func (s *Session) AddAuth(scheme, auth string) {
	err := s.call(func() error { return s.conn.AddAuth(scheme, []byte(auth)) })
	s.r.record(s, fmt.Sprintf("auth %s %q", scheme, auth), err)
}

// Reconfig sends reconfig (16), disabled on a default server.
func (s *Session) Reconfig(members ...string) {
	var st *zk.Stat
	err := s.call(func() (err error) { st, err = s.conn.Reconfig(members, -1); return })
	e := s.r.record(s, fmt.Sprintf("reconfig %v", members), err)
	if err == nil {
		s.r.stat(e, st)
	}
}

// Kill cuts the session's connection without closing the session, as a
// client that dies: the server expires it after its timeout (10 s), and
// its ephemerals go then. Later steps on it are not allowed.
func (s *Session) Kill() {
	s.kill()
	s.r.record(s, "kill", nil)
}

// Close closes the session (closeSession, −11): its ephemerals go. Later
// steps on it record CONNECTIONCLOSED.
func (s *Session) Close() {
	s.closeConn()
	s.r.record(s, "closeSession", nil)
}

// Events records the watch events the session received since the last
// Events, in arrival order. It first makes a round trip on the session:
// ZooKeeper sends a connection's events before any later reply on it, so
// every event already triggered has then arrived.
func (s *Session) Events() { s.events_(false) }

// EventsSorted is Events for triggers whose events ZooKeeper sends in an
// unspecified order (ephemerals deleted by closeSession).
func (s *Session) EventsSorted() { s.events_(true) }

func (s *Session) events_(sorted bool) {
	err := s.call(func() error { _, _, err := s.conn.Exists("/"); return err })
	s.mu.Lock()
	evs := s.events
	s.events = nil
	s.mu.Unlock()
	var parts []string
	for _, ev := range evs {
		t := eventNames[ev.Type]
		if t == "" {
			t = fmt.Sprintf("Event(%d)", ev.Type)
		}
		if ev.State != zk.StateSyncConnected {
			t += fmt.Sprintf("(state %d)", ev.State)
		}
		parts = append(parts, t+" "+s.r.show(ev.Path))
	}
	if sorted {
		slices.Sort(parts)
	}
	e := s.r.record(s, "events", err)
	e.add(" [" + strings.Join(parts, ", ") + "]")
}

var eventNames = map[zk.EventType]string{
	zk.EventNodeCreated:         "NodeCreated",
	zk.EventNodeDeleted:         "NodeDeleted",
	zk.EventNodeDataChanged:     "NodeDataChanged",
	zk.EventNodeChildrenChanged: "NodeChildrenChanged",
}

// AwaitGone waits, at most AwaitTimeout, until the server itself deletes
// path (an empty container or an expired TTL node, ZK-SEMANTICS §7), and
// records whether it did. It watches from a session of its own, so the
// case's sessions see no extra events.
func (r *R) AwaitGone(path string) {
	p := r.abs(path)
	aw := &Session{r: r, idx: -1}
	err := aw.connect()
	defer aw.closeConn()
	gone := false
	deadline := time.After(AwaitTimeout)
	for err == nil && !gone {
		var (
			ok bool
			ch <-chan zk.Event
		)
		err = aw.call(func() (err error) { ok, _, ch, err = aw.conn.ExistsW(p); return })
		if err != nil || !ok {
			gone = err == nil
			break
		}
		select {
		case ev := <-ch:
			gone = ev.Type == zk.EventNodeDeleted
		case <-deadline:
			err = fmt.Errorf("still there after %v", AwaitTimeout)
		}
	}
	e := r.record(r.Session, "awaitGone "+r.show(p), err)
	if err != nil {
		e.code = "NOTGONE(" + err.Error() + ")"
	}
}

// Op is one operation of a multi.
type Op struct {
	kind    string
	path    string
	data    []byte
	flags   int32
	acl     []zk.ACL
	version int32
}

// CreateOp, DeleteOp, SetOp and CheckOp are the operations go-zookeeper can
// put in a multi (it sends create as opcode 1 even for container or TTL
// flags, and has no create2 in a multi).
func CreateOp(path string, data []byte, flags int32, acl []zk.ACL) Op {
	return Op{kind: "create", path: path, data: data, flags: flags, acl: acl}
}

// DeleteOp is a delete (2) in a multi.
func DeleteOp(path string, version int32) Op { return Op{kind: "delete", path: path, version: version} }

// SetOp is a setData (5) in a multi.
func SetOp(path string, data []byte, version int32) Op {
	return Op{kind: "setData", path: path, data: data, version: version}
}

// CheckOp is a check (13) in a multi.
func CheckOp(path string, version int32) Op { return Op{kind: "check", path: path, version: version} }

// Multi sends multi (14) and records the overall code and each result.
func (s *Session) Multi(ops ...Op) []zk.MultiResponse {
	reqs := make([]any, len(ops))
	descs := make([]string, len(ops))
	for i, o := range ops {
		p := s.r.abs(o.path)
		switch o.kind {
		case "create":
			reqs[i] = &zk.CreateRequest{Path: p, Data: o.data, Acl: o.acl, Flags: o.flags}
			descs[i] = fmt.Sprintf("create %s %s flags=%d acl=%s", s.r.show(p), fmtData(o.data), o.flags, fmtACL(o.acl))
		case "delete":
			reqs[i] = &zk.DeleteRequest{Path: p, Version: o.version}
			descs[i] = fmt.Sprintf("delete %s v=%d", s.r.show(p), o.version)
		case "setData":
			reqs[i] = &zk.SetDataRequest{Path: p, Data: o.data, Version: o.version}
			descs[i] = fmt.Sprintf("setData %s %s v=%d", s.r.show(p), fmtData(o.data), o.version)
		case "check":
			reqs[i] = &zk.CheckVersionRequest{Path: p, Version: o.version}
			descs[i] = fmt.Sprintf("check %s v=%d", s.r.show(p), o.version)
		}
	}
	var res []zk.MultiResponse
	err := s.call(func() (err error) { res, err = s.conn.Multi(reqs...); return })
	e := s.r.record(s, "multi["+strings.Join(descs, "; ")+"]", err)
	e.add(fmt.Sprintf(" results(%d)=[", len(res)))
	for i, m := range res {
		if i > 0 {
			e.add(" | ")
		}
		e.add(codeOf(m.Error))
		if m.String != "" {
			e.add(" path=" + s.r.show(m.String))
		}
		if m.Stat != nil {
			s.r.stat(e, m.Stat)
		}
	}
	e.add("]")
	return res
}

// Known marks the next step as one where Debian's 3.8.0 and 3.9 answer
// differently (KnownDifferences): each server's answer is checked against
// the expectation for its version, want38 or want39, instead of against
// the other server. An expectation matches the step's result (its code,
// then what it shows, zxids as "Z") if equal to it or a prefix of it
// followed by a space: "OK" accepts "OK stat{…}". Servers of the same
// version must also agree with each other.
func (r *R) Known(id string, want38, want39 string) {
	for i := range KnownDifferences {
		if KnownDifferences[i].ID == id {
			r.known = &knownMark{diff: &KnownDifferences[i], want38: want38, want39: want39}
			return
		}
	}
	panic("difftest: unknown known difference " + id)
}
