package difftest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Raw is a raw-protocol session of a run ("r0", "r1", … in transcripts),
// for what go-zookeeper cannot send or hides. Its paths are case paths as
// for R, except that a path starting with '=' is sent literally without
// the '=' ("=" is the empty path, "=a" a relative one).
//
// Write steps also record the reply header's zxid (the txn's, failed
// writes included, ZK-SEMANTICS §2) as a rank; reads do not, since their
// reply zxid is the server's latest, which other cases move.
type Raw struct {
	r   *R
	idx int
	c   *rawConn
}

// Raw returns raw session i, connecting it on first use.
func (r *R) Raw(i int) *Raw {
	for len(r.raws) <= i {
		r.raws = append(r.raws, nil)
	}
	if r.raws[i] == nil {
		c, err := dialRaw(r.addr)
		if err != nil {
			panic(abort{fmt.Errorf("raw session r%d: %w", i, err)})
		}
		r.raws[i] = c
	}
	return &Raw{r: r, idx: i, c: r.raws[i]}
}

func (x *Raw) path(p string) string {
	if v, ok := strings.CutPrefix(p, "="); ok {
		return v
	}
	return x.r.abs(p)
}

func (x *Raw) who() string { return fmt.Sprintf("r%d", x.idx) }

// do sends a request and records it; on success body parses the reply.
func (x *Raw) do(op int32, desc string, req []byte, write bool, body func(e *entry, d *dec)) (rawReply, *entry) {
	rep, err := x.c.call(op, req)
	if err != nil {
		return rep, x.r.recordAs(x.who(), desc, codeOf(err))
	}
	e := x.r.recordAs(x.who(), desc, rawCode(rep.err))
	if write {
		e.add(" zxid=", zxid(rep.zxid))
		x.r.writeZxids = append(x.r.writeZxids, rep.zxid)
	}
	if rep.err == 0 && body != nil {
		d := &dec{b: rep.body}
		body(e, d)
		if d.err != nil {
			e.add(fmt.Sprintf(" BADBODY(%v %x)", d.err, rep.body))
		}
	}
	return rep, e
}

func pathReq(p string) []byte {
	var e enc
	e.str(p)
	return e.b
}

func pathWatchReq(p string, watch bool) []byte {
	var e enc
	e.str(p)
	e.bool(watch)
	return e.b
}

func createReq(p string, data []byte, acl []zk.ACL, flags int32) *enc {
	var e enc
	e.str(p)
	e.buf(data)
	e.acl(acl)
	e.int(flags)
	return &e
}

// GetChildren sends getChildren (8), which go-zookeeper never sends.
func (x *Raw) GetChildren(path string, watch bool) {
	p := x.path(path)
	x.do(opGetChildren, fmt.Sprintf("getChildren%s %s", w(watch), x.r.show(p)), pathWatchReq(p, watch), false, func(e *entry, d *dec) {
		e.add(" children=" + fmtChildren(d.strs()))
	})
}

// Read sends a read op (exists 3, getData 4, getACL 6, getChildren2 12,
// sync 9) on any path, the empty and relative ones included.
func (x *Raw) Read(op int32, path string) { x.read(op, path, false) }

// ReadW is Read with the watch flag set (exists, getData, getChildren2).
func (x *Raw) ReadW(op int32, path string) { x.read(op, path, true) }

func (x *Raw) read(op int32, path string, watch bool) {
	p := x.path(path)
	var req []byte
	switch op {
	case opGetACL, opSync:
		req = pathReq(p)
	default:
		req = pathWatchReq(p, watch)
	}
	x.do(op, fmt.Sprintf("%s%s %s", opName(op), w(watch), x.r.show(p)), req, false, func(e *entry, d *dec) {
		switch op {
		case opExists:
			x.r.stat(e, d.stat())
		case opGetData:
			e.add(" data=" + fmtData(d.buf()))
			x.r.stat(e, d.stat())
		case opGetACL:
			e.add(" acl=" + fmtACL(readACL(d)))
			x.r.stat(e, d.stat())
		case opGetChildren2:
			e.add(" children=" + fmtChildren(d.strs()))
			x.r.stat(e, d.stat())
		case opSync:
			e.add(" path=" + x.r.show(d.str()))
		}
	})
}

func readACL(d *dec) []zk.ACL {
	n := d.int()
	if n < 0 {
		return nil
	}
	acl := []zk.ACL{}
	for i := int32(0); i < n && d.err == nil; i++ {
		acl = append(acl, zk.ACL{Perms: d.int(), Scheme: d.str(), ID: d.str()})
	}
	return acl
}

// Create sends a create of opcode op (1 create, 15 create2, 19
// createContainer, 21 createTTL with ttl) with any flags.
func (x *Raw) Create(op int32, path string, data []byte, flags int32, acl []zk.ACL, ttl int64) string {
	p := x.path(path)
	e := createReq(p, data, acl, flags)
	desc := fmt.Sprintf("%s %s %s flags=%d acl=%s", opName(op), x.r.show(p), fmtData(data), flags, fmtACL(acl))
	if op == opCreateTTL {
		e.long(ttl)
		desc += fmt.Sprintf(" ttl=%d", ttl)
	}
	var got string
	x.do(op, desc, e.b, true, func(e *entry, d *dec) {
		got = d.str()
		e.add(" path=" + x.r.show(got))
		if op != opCreate {
			x.r.stat(e, d.stat())
		}
	})
	return x.r.rel(got)
}

// Delete sends delete (2) on any path.
func (x *Raw) Delete(path string, version int32) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.int(version)
	x.do(opDelete, fmt.Sprintf("delete %s v=%d", x.r.show(p), version), e.b, true, nil)
}

// Set sends setData (5) on any path.
func (x *Raw) Set(path string, data []byte, version int32) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.buf(data)
	e.int(version)
	x.do(opSetData, fmt.Sprintf("setData %s %s v=%d", x.r.show(p), fmtData(data), version), e.b, true, func(e *entry, d *dec) {
		x.r.stat(e, d.stat())
	})
}

// SetACL sends setACL (7) on any path.
func (x *Raw) SetACL(path string, acl []zk.ACL, version int32) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.acl(acl)
	e.int(version)
	x.do(opSetACL, fmt.Sprintf("setACL %s %s v=%d", x.r.show(p), fmtACL(acl), version), e.b, true, func(e *entry, d *dec) {
		x.r.stat(e, d.stat())
	})
}

// DeleteContainer sends deleteContainer (20); see the known difference
// delete-container-op.
func (x *Raw) DeleteContainer(path string) {
	p := x.path(path)
	x.do(opDeleteContainer, "deleteContainer "+x.r.show(p), pathReq(p), true, nil)
}

// GetEphemerals sends getEphemerals (103) with a prefix (a plain string
// prefix, not a path, ZK-SEMANTICS §13).
func (x *Raw) GetEphemerals(prefix string) {
	p := x.path(prefix)
	x.do(opGetEphemerals, "getEphemerals "+x.r.show(p), pathReq(p), false, func(e *entry, d *dec) {
		paths := d.strs()
		shown := make([]string, len(paths))
		for i, q := range paths {
			shown[i] = x.r.show(q)
		}
		slices.Sort(shown)
		e.add(" ephemerals=[" + strings.Join(shown, " ") + "]")
	})
}

// GetAllChildrenNumber sends getAllChildrenNumber (104).
func (x *Raw) GetAllChildrenNumber(path string) {
	p := x.path(path)
	x.do(opGetAllChildren, "getAllChildrenNumber "+x.r.show(p), pathReq(p), false, func(e *entry, d *dec) {
		e.add(fmt.Sprintf(" total=%d", d.int()))
	})
}

// AddWatch sends addWatch (106): mode 0 persistent, 1 persistent recursive.
func (x *Raw) AddWatch(path string, mode int32) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.int(mode)
	x.do(opAddWatch, fmt.Sprintf("addWatch %s mode=%d", x.r.show(p), mode), e.b, false, func(e *entry, d *dec) {
		e.add(fmt.Sprintf(" body=%x", d.b))
		d.b = nil
	})
}

// RemoveWatches sends removeWatches (18, or checkWatches 17 if check) with
// a watcher type (1 child, 2 data, 3 any, 4 persistent, 5 recursive).
func (x *Raw) RemoveWatches(path string, typ int32, check bool) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.int(typ)
	op, name := int32(opRemoveWatches), "removeWatches"
	if check {
		op, name = opCheckWatches, "checkWatches"
	}
	x.do(op, fmt.Sprintf("%s %s type=%d", name, x.r.show(p), typ), e.b, false, nil)
}

// WhoAmI sends whoAmI (107) and records the ids as a sorted set.
func (x *Raw) WhoAmI() {
	x.do(opWhoAmI, "whoAmI", nil, false, func(e *entry, d *dec) {
		n := d.int()
		var ids []string
		for i := int32(0); i < n && d.err == nil; i++ {
			ids = append(ids, d.str()+":"+d.str())
		}
		// ZooKeeper keeps a connection's ids in a hash set: compare as a set.
		slices.Sort(ids)
		e.add(" ids=[" + strings.Join(ids, " ") + "]")
	})
}

// Auth sends auth (100); its reply zxid (0) is recorded as is. A failed
// auth closes the connection.
func (x *Raw) Auth(scheme, auth string) {
	var e enc
	e.int(0)
	e.str(scheme)
	e.buf([]byte(auth))
	rep, en := x.do(opAuth, fmt.Sprintf("auth %s %q", scheme, auth), e.b, false, nil)
	en.add(fmt.Sprintf(" hdrzxid=%d", rep.zxid))
}

// Unknown sends a request with an opcode ZooKeeper does not answer with
// data (0, 999, 13 outside a multi in 3.9 …) and a body, and records the
// reply's code and header zxid, then whether the connection is still
// open (a ping round trip). ZooKeeper closes the connection after
// UNIMPLEMENTED (UnimplementedRequestProcessor) from another thread,
// after the reply: a ping sent at once was sometimes answered first.
// So after UNIMPLEMENTED the ping waits up to 5 s for the close.
func (x *Raw) Unknown(op int32, body []byte) {
	rep, e := x.do(op, fmt.Sprintf("%s body=%x", opName(op), body), body, false, nil)
	if e.code == "UNIMPLEMENTED" || e.code == "OK" {
		e.add(fmt.Sprintf(" hdrzxid=%d", rep.zxid))
	}
	if e.code == "UNIMPLEMENTED" && !x.c.closed {
		x.c.awaitEOF(5 * time.Second)
	}
	x.Ping()
}

// CloseSession sends closeSession (−11) and records its reply (as a
// write: its zxid is the one its events carry) and the watch events that
// came before it, sorted: ZooKeeper sends the closing session what its
// ephemerals' deletion fires, its own watches included, before the
// reply, deleting them in no set order. Later steps on it record
// CONNECTIONCLOSED.
func (x *Raw) CloseSession() {
	if x.c.closed {
		x.r.recordAs(x.who(), "closeSession", "CONNECTIONCLOSED")
		return
	}
	x.c.events = nil
	rep, err := x.c.call(opCloseSession, nil)
	if err != nil {
		x.r.recordAs(x.who(), "closeSession", codeOf(err))
		return
	}
	x.c.closed = true
	e := x.r.recordAs(x.who(), "closeSession", rawCode(rep.err))
	e.add(" zxid=", zxid(rep.zxid))
	x.r.writeZxids = append(x.r.writeZxids, rep.zxid)
	var parts []string
	for _, ev := range x.c.events {
		t := eventNames[zk.EventType(ev.typ)]
		if t == "" {
			t = fmt.Sprintf("Event(%d)", ev.typ)
		}
		parts = append(parts, t+" "+x.r.show(ev.path))
	}
	x.c.events = nil
	slices.Sort(parts)
	x.r.recordAs(x.who(), "events before the reply", "OK").add(" [" + strings.Join(parts, ", ") + "]")
}

// Ping sends a ping (11, xid −2) and records whether it was answered.
func (x *Raw) Ping() {
	if x.c.closed {
		x.r.recordAs(x.who(), "ping", "CONNECTIONCLOSED")
		return
	}
	_, err := x.c.roundTrip(-2, opPing, nil)
	x.r.recordAs(x.who(), "ping", codeOf(err))
}

// CheckAlone sends check (13) outside a multi, followed at once by an
// exists of the root, and records what came back: the known difference
// check-outside-multi (3.8 never answers the check; 3.9 answers
// UNIMPLEMENTED and closes the connection).
func (x *Raw) CheckAlone(path string, version int32) {
	p := x.path(path)
	var e enc
	e.str(p)
	e.int(version)
	xid, err := x.c.send(opCheck, e.b)
	if err != nil {
		x.r.recordAs(x.who(), "check "+x.r.show(p), codeOf(err))
		return
	}
	x.c.xid++
	next := x.c.xid
	x.c.write(next, opExists, pathWatchReq("/", false))
	got := ""
	for range 2 {
		rep, err := x.c.read(anyXid, 5*time.Second)
		if err != nil {
			if errors.Is(err, errNoReply) {
				got += " noreply"
			} else {
				got += " " + codeOf(err)
			}
			break
		}
		if rep.xid == xid {
			got += fmt.Sprintf(" check:%s(hdrzxid=%d)", rawCode(rep.err), rep.zxid)
			continue
		}
		if rep.xid == next {
			got += " exists:" + rawCode(rep.err)
		} else {
			got += fmt.Sprintf(" xid=%d", rep.xid)
		}
		break
	}
	x.r.recordAs(x.who(), fmt.Sprintf("check %s v=%d (alone), then exists /", x.r.show(p), version), "OK").detail = got
}

// RawOp is one op of a raw multi or multiRead.
type RawOp struct {
	Type    int32 // opcode
	Path    string
	Data    []byte
	Flags   int32
	ACL     []zk.ACL
	Version int32
	TTL     int64
}

// Multi sends multi (14) (or multiRead, 22) with any op types, create2
// included, and records each result with its header type.
func (x *Raw) Multi(read bool, ops ...RawOp) {
	var e enc
	descs := make([]string, len(ops))
	for i, o := range ops {
		p := x.path(o.Path)
		e.int(o.Type)
		e.bool(false)
		e.int(-1)
		switch o.Type {
		case opCreate, opCreate2, opCreateContainer, opCreateTTL:
			e.str(p)
			e.buf(o.Data)
			e.acl(o.ACL)
			e.int(o.Flags)
			if o.Type == opCreateTTL {
				e.long(o.TTL)
			}
			descs[i] = fmt.Sprintf("%s %s %s flags=%d", opName(o.Type), x.r.show(p), fmtData(o.Data), o.Flags)
		case opDelete, opCheck:
			e.str(p)
			e.int(o.Version)
			descs[i] = fmt.Sprintf("%s %s v=%d", opName(o.Type), x.r.show(p), o.Version)
		case opSetData:
			e.str(p)
			e.buf(o.Data)
			e.int(o.Version)
			descs[i] = fmt.Sprintf("%s %s %s v=%d", opName(o.Type), x.r.show(p), fmtData(o.Data), o.Version)
		default: // reads: getData, getChildren, and anything else with a path and watch
			e.str(p)
			e.bool(false)
			descs[i] = fmt.Sprintf("%s %s", opName(o.Type), x.r.show(p))
		}
	}
	e.int(-1)
	e.bool(true)
	e.int(-1)
	op, name := int32(opMulti), "multi"
	if read {
		op, name = opMultiRead, "multiRead"
	}
	x.do(op, name+"["+strings.Join(descs, "; ")+"]", e.b, !read, func(en *entry, d *dec) {
		en.add(" results=[")
		for i := 0; d.err == nil; i++ {
			typ, done, errc := d.int(), d.bool(), d.int()
			if done {
				break
			}
			if i > 0 {
				en.add(" | ")
			}
			en.add(fmt.Sprintf("type=%d err=%d", typ, errc))
			switch typ {
			case -1:
				en.add(" " + rawCode(d.int()))
			case opCreate:
				en.add(" path=" + x.r.show(d.str()))
			case opCreate2, opCreateContainer, opCreateTTL:
				en.add(" path=" + x.r.show(d.str()))
				x.r.stat(en, d.stat())
			case opSetData:
				x.r.stat(en, d.stat())
			case opGetData:
				en.add(" data=" + fmtData(d.buf()))
				x.r.stat(en, d.stat())
			case opGetChildren:
				en.add(" children=" + fmtChildren(d.strs()))
			}
		}
		en.add("]")
	})
}

// Events records the notifications the raw session received, after a
// ping round trip, with their types and paths; then, if there were any,
// their header zxids as a step marked with the known difference
// notification-zxid: Debian's 3.8.0 sends −1, 3.9 the zxid of the
// triggering txn, which want39 names relative to the raw write replies of
// the run: "latest-write", "write-1" (the one before), … one per event.
func (x *Raw) Events(want39 string) {
	if x.c.closed {
		x.r.recordAs(x.who(), "events", "CONNECTIONCLOSED")
		return
	}
	_, err := x.c.roundTrip(-2, opPing, nil)
	evs := x.c.events
	x.c.events = nil
	var parts, zxids []string
	for _, ev := range evs {
		t := eventNames[zk.EventType(ev.typ)]
		if t == "" {
			t = fmt.Sprintf("Event(%d)", ev.typ)
		}
		if ev.state != int32(zk.StateSyncConnected) {
			t += fmt.Sprintf("(state %d)", ev.state)
		}
		parts = append(parts, t+" "+x.r.show(ev.path))
		zxids = append(zxids, x.r.zxidRelation(ev.zxid))
	}
	e := x.r.recordAs(x.who(), "events", codeOf(err))
	e.detail = " [" + strings.Join(parts, ", ") + "]"
	if len(evs) == 0 && e.known == nil {
		return
	}
	// Recorded also for no events when the list itself was a known
	// difference, so that both versions' transcripts have the step.
	x.r.Known("notification-zxid", "OK"+strings.Repeat(" -1", len(evs)), strings.TrimSpace("OK "+want39))
	z := x.r.recordAs(x.who(), "event zxids", "OK")
	if len(zxids) > 0 {
		z.detail = " " + strings.Join(zxids, " ")
	}
}

// zxidRelation names a notification's zxid relative to the raw write
// replies recorded so far.
func (r *R) zxidRelation(z int64) string {
	if z == -1 {
		return "-1"
	}
	for i := len(r.writeZxids) - 1; i >= 0; i-- {
		if r.writeZxids[i] == z {
			if back := len(r.writeZxids) - 1 - i; back > 0 {
				return fmt.Sprintf("write-%d", back)
			}
			return "latest-write"
		}
	}
	return "other"
}

var opNames = map[int32]string{
	opCreate: "create", opDelete: "delete", opExists: "exists", opGetData: "getData",
	opSetData: "setData", opGetACL: "getACL", opSetACL: "setACL", opGetChildren: "getChildren",
	opSync: "sync", opPing: "ping", opGetChildren2: "getChildren2", opCheck: "check",
	opMulti: "multi", opCreate2: "create2", opCheckWatches: "checkWatches",
	opRemoveWatches: "removeWatches", opCreateContainer: "createContainer",
	opDeleteContainer: "deleteContainer", opCreateTTL: "createTTL", opMultiRead: "multiRead",
	opAuth: "auth", opGetEphemerals: "getEphemerals", opGetAllChildren: "getAllChildrenNumber",
	opAddWatch: "addWatch", opWhoAmI: "whoAmI", opCloseSession: "closeSession",
	opSetWatches: "setWatches", opSetWatches2: "setWatches2",
}

func opName(op int32) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	return fmt.Sprintf("op%d", op)
}

// Resume connects again with the session's id, as a client does after
// losing its connection: with its password, or with a wrong one. It
// records the ConnectResponse against the session's own (timeout, id,
// password: "same", "0" for a refusal, else the value), whether
// the server kept the new connection ("open", after a ping round trip)
// or closed it, and, for the right password, whether the server closed
// the old connection (ZooKeeper closes it before it answers; layerd
// through the session's notify key). The raw session goes on through the
// new connection, even a closed one.
//
// A wrong password does not record the old connection: ZooKeeper closes
// it too, layerd keeps it, on purpose (docs/testing.md, "Deliberate
// differences").
func (x *Raw) Resume(rightPassword bool) {
	old := x.c
	passwd := slices.Clone(old.passwd)
	desc := "resume"
	if !rightPassword {
		for i := range passwd {
			passwd[i] ^= 0xff
		}
		desc = "resume with a wrong password"
	}
	nc, err := dialSession(x.r.addr, old.sessionID, passwd)
	if err != nil {
		x.r.recordAs(x.who(), desc, codeOf(err)).detail = " (" + err.Error() + ")"
		return
	}
	x.r.raws[x.idx], x.c = nc, nc
	same := func(ok bool, zero bool, v any) string {
		switch {
		case ok:
			return "same"
		case zero:
			return "0"
		default:
			return fmt.Sprint(v)
		}
	}
	e := x.r.recordAs(x.who(), desc, "OK")
	e.add(" timeout=", same(nc.timeout == old.timeout, nc.timeout == 0, nc.timeout))
	e.add(" id=", same(nc.sessionID == old.sessionID, nc.sessionID == 0, fmt.Sprintf("%#x", nc.sessionID)))
	e.add(" passwd=", same(slices.Equal(nc.passwd, old.passwd), slices.Equal(nc.passwd, make([]byte, 16)), fmt.Sprintf("%x", nc.passwd)))
	var closed bool
	if nc.sessionID == 0 {
		closed = nc.awaitEOF(5 * time.Second)
		// Refused: the raw session is still old's session, for a later
		// Resume and for naming owners.
		nc.sessionID, nc.timeout, nc.passwd = old.sessionID, old.timeout, old.passwd
	} else {
		_, err := nc.roundTrip(-2, opPing, nil)
		closed = err != nil
	}
	if closed {
		e.add(" then closed")
	} else {
		e.add(" then open")
	}
	if rightPassword {
		if old.closed || old.awaitEOF(5*time.Second) {
			e.add(" old=closed")
		} else {
			e.add(" old=open")
		}
	}
	old.closed = true
	old.c.Close() // without closeSession: the session is the new connection's
}

// AwaitClosed reads the raw session's connection, sending nothing, until
// the server closes it, for at most AwaitTimeout (a connection whose
// session expires is closed silently, ZK-SEMANTICS §10), and records
// whether it did.
func (x *Raw) AwaitClosed() {
	e := x.r.recordAs(x.who(), "await close", "OK")
	if x.c.closed || x.c.awaitEOF(AwaitTimeout) {
		e.add(" closed")
	} else {
		e.add(fmt.Sprintf(" still open after %v", AwaitTimeout))
	}
}

// SetWatches sends what a client sends on reconnecting: setWatches (101),
// or setWatches2 (105) when persistent or recursive paths are given, with
// xid −8, relative to the zxid of the raw write back writes before the
// latest (the client's last seen zxid). It records the reply's code; the
// events that fire at once (ZK-SEMANTICS §9) are kept for Events.
func (x *Raw) SetWatches(back int, data, exist, child, persistent, recursive []string) {
	rel := x.r.writeZxids[len(x.r.writeZxids)-1-back]
	op := int32(opSetWatches)
	if persistent != nil || recursive != nil {
		op = opSetWatches2
	}
	var e enc
	e.long(rel)
	lists := [][]string{data, exist, child}
	if op == opSetWatches2 {
		lists = append(lists, persistent, recursive)
	}
	desc := []string{fmt.Sprintf("%s rel=write-%d", opName(op), back)}
	for i, list := range lists {
		e.int(int32(len(list)))
		shown := make([]string, len(list))
		for j, p := range list {
			e.str(x.path(p))
			shown[j] = x.r.show(x.path(p))
		}
		desc = append(desc, []string{"data", "exist", "child", "persistent", "recursive"}[i]+"=["+strings.Join(shown, " ")+"]")
	}
	if x.c.closed {
		x.r.recordAs(x.who(), strings.Join(desc, " "), "CONNECTIONCLOSED")
		return
	}
	rep, err := x.c.roundTrip(-8, op, e.b)
	code := codeOf(err)
	if err == nil {
		code = rawCode(rep.err)
	}
	x.r.recordAs(x.who(), strings.Join(desc, " "), code)
}
