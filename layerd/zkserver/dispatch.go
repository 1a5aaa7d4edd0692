package zkserver

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"zkfdb/layerd/zkwire"
	"zkfdb/shared/znode"
)

// codes maps the data model's errors to ZooKeeper's codes: the one table
// at the protocol edge.
var codes = []struct {
	err  error
	code zkwire.Code
}{
	{znode.ErrNoNode, zkwire.CodeNoNode},
	{znode.ErrNodeExists, zkwire.CodeNodeExists},
	{znode.ErrBadVersion, zkwire.CodeBadVersion},
	{znode.ErrNotEmpty, zkwire.CodeNotEmpty},
	{znode.ErrNoChildrenForEphemerals, zkwire.CodeNoChildrenForEphemerals},
	{znode.ErrBadArguments, zkwire.CodeBadArguments},
	{znode.ErrInvalidACL, zkwire.CodeInvalidACL},
	{znode.ErrNoAuth, zkwire.CodeNoAuth},
	{znode.ErrSessionExpired, zkwire.CodeSessionExpired},
	{znode.ErrUnimplemented, zkwire.CodeUnimplemented},
	{znode.ErrMarshalling, zkwire.CodeMarshallingError},
	{znode.ErrRuntimeInconsistency, zkwire.CodeRuntimeInconsistency},
	{znode.ErrAuthFailed, zkwire.CodeAuthFailed},
	{znode.ErrNoWatcher, zkwire.CodeNoWatcher},
	// Beyond what one FoundationDB transaction can do (docs/fdb.md):
	// refused as ZooKeeper refuses arguments it cannot take.
	{znode.ErrTooLarge, zkwire.CodeBadArguments},
}

// codeOf returns err's ZooKeeper code; ok is false for errors that are
// not ZooKeeper answers (the store failed): the connection is then closed
// and the client retries elsewhere, as after a server failure.
func codeOf(err error) (zkwire.Code, bool) {
	if err == nil {
		return zkwire.CodeOK, true
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code, true
		}
	}
	return zkwire.CodeSystemError, false
}

func wireStat(s znode.Stat) zkwire.Stat {
	return zkwire.Stat{
		Czxid: s.Czxid, Mzxid: s.Mzxid, Ctime: s.Ctime, Mtime: s.Mtime,
		Version: s.Version, Cversion: s.Cversion, Aversion: s.Aversion,
		EphemeralOwner: s.EphemeralOwner, DataLength: s.DataLength,
		NumChildren: s.NumChildren, Pzxid: s.Pzxid,
	}
}

func modelACL(acl []zkwire.ACL) []znode.ACL {
	out := make([]znode.ACL, len(acl))
	for i, a := range acl {
		out[i] = znode.ACL{Perms: a.Perms, ID: znode.ID{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}

func wireACL(acl []znode.ACL) []zkwire.ACL {
	out := make([]zkwire.ACL, len(acl))
	for i, a := range acl {
		out[i] = zkwire.ACL{Perms: a.Perms, Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

// writeOp maps one write request to the data model's op.
func writeOp(r zkwire.Request) (znode.Op, bool) {
	switch r := r.(type) {
	case *zkwire.Create:
		return znode.CreateOp{Path: r.Path, Data: r.Data, ACL: modelACL(r.ACL), Flags: r.Flags, TTL: -1}, true
	case *zkwire.Create2:
		return znode.CreateOp{Path: r.Path, Data: r.Data, ACL: modelACL(r.ACL), Flags: r.Flags, TTL: -1}, true
	case *zkwire.CreateContainer:
		return znode.CreateOp{Path: r.Path, Data: r.Data, ACL: modelACL(r.ACL), Flags: r.Flags, Container: true, TTL: -1}, true
	case *zkwire.CreateTTL:
		return znode.CreateOp{Path: r.Path, Data: r.Data, ACL: modelACL(r.ACL), Flags: r.Flags, TTL: r.TTL}, true
	case *zkwire.Delete:
		return znode.DeleteOp{Path: r.Path, Version: r.Version}, true
	case *zkwire.SetData:
		return znode.SetDataOp{Path: r.Path, Data: r.Data, Version: r.Version}, true
	case *zkwire.Check:
		return znode.CheckOp{Path: r.Path, Version: r.Version}, true
	case *zkwire.SetACL:
		return znode.SetACLOp{Path: r.Path, ACL: modelACL(r.ACL), Version: r.Version}, true
	case *zkwire.DeleteContainer:
		return znode.DeleteContainerOp{Path: r.Path}, true
	}
	return nil, false
}

// multiOp maps one op of a multi. As ZooKeeper does, a create with the
// container flag is a createContainer there (its result carries a Stat);
// a create with TTL flags makes the whole multi malformed.
func multiOp(r zkwire.Request) (op znode.Op, stat bool, ok bool) {
	if c, isCreate := r.(*zkwire.Create); isCreate {
		switch c.Flags {
		case zkwire.FlagContainer:
			return znode.CreateOp{Path: c.Path, Data: c.Data, ACL: modelACL(c.ACL), Flags: c.Flags, Container: true, TTL: -1}, true, true
		case zkwire.FlagPersistentWithTTL, zkwire.FlagPersistentSequentialWithTTL:
			return nil, false, false
		}
	}
	op, ok = writeOp(r)
	switch r.(type) {
	case *zkwire.Create2, *zkwire.CreateContainer, *zkwire.CreateTTL:
		stat = true
	}
	return op, stat, ok
}

// javaString returns s as ZooKeeper's Java decoding gives it back: each
// byte that is not valid UTF-8 becomes U+FFFD.
func javaString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// dispatch executes one request and writes its reply. It reports whether
// the connection goes on.
func (c *conn) dispatch(h zkwire.RequestHeader, body []byte) bool {
	op := h.Type
	switch op {
	case zkwire.OpPing:
		zxid := c.lastZxid
		if c.watching {
			// ZooKeeper's ping reply carries its latest zxid, after
			// the events of every txn up to it. A connection with
			// watches gets the same: the events of writes acknowledged
			// to anyone before this ping come before its reply, even
			// where the store's watch of the notify key is slower than
			// a round trip (FoundationDB's). Without watches a ping
			// costs the store nothing.
			latest, err := c.s.tree.Sync(c.opCtx(op.String()))
			if err != nil {
				return c.storeFailed(op, err)
			}
			zxid = max(zxid, latest)
		}
		return c.answered(op, zkwire.CodeOK, c.reply(zkwire.XidPing, zxid, zkwire.CodeOK, nil))
	case zkwire.OpCloseSession:
		ctx := c.opCtx(op.String())
		closed, err := c.s.tree.CloseConn(ctx, c.wconn, c.cursor)
		if err != nil {
			c.log().Error("close session failed", zap.Error(err))
			return false
		}
		c.closed = true // its watches went with it
		c.log().Info("session closed by its client")
		// ZooKeeper sends the session what its ephemerals' deletion
		// fired, its own watches included, before the reply; the log
		// they would have been read from is gone with the session.
		if !c.sendEvents(closed.Owed) {
			return false
		}
		c.watching = false
		c.reply(h.Xid, closed.Zxid, zkwire.CodeOK, nil)
		c.count(op, zkwire.CodeOK)
		return false // ZooKeeper closes the socket after the reply
	case zkwire.OpCheck, zkwire.OpSASL:
		// check only inside a multi; SASL is not configured.
		return c.unimplemented(h, op)
	case zkwire.OpCreateSession:
		// A valid opcode, but not a request a connected client sends.
		return c.answered(op, zkwire.CodeMarshallingError, c.reply(h.Xid, c.lastZxid, zkwire.CodeMarshallingError, nil))
	}
	req, err := zkwire.DecodeRequest(op, body)
	if errors.Is(err, zkwire.ErrUnknownOpcode) {
		return c.unimplemented(h, op)
	}
	if op == zkwire.OpMulti && err != nil {
		return c.malformedMulti(h)
	}
	if err != nil {
		c.log().Debug("malformed request", zap.Stringer("op", op), zap.Error(err))
		return c.answered(op, zkwire.CodeMarshallingError, c.reply(h.Xid, c.lastZxid, zkwire.CodeMarshallingError, nil))
	}
	ctx := c.opCtx(op.String())
	tree := c.s.tree

	if _, ttl := req.(*zkwire.CreateTTL); ttl && !c.s.cfg.ExtendedTypes {
		// ZooKeeper refuses it in its request pipeline, with an error
		// transaction: a zxid of its own, the connection kept.
		zxid, err := tree.Fail(ctx, c.caller(), znode.ErrUnimplemented)
		if err != nil {
			return c.storeFailed(op, err)
		}
		return c.answered(op, zkwire.CodeUnimplemented, c.reply(h.Xid, zxid, zkwire.CodeUnimplemented, nil))
	}
	if wop, ok := writeOp(req); ok {
		w, err := tree.Write(ctx, c.caller(), []znode.Op{wop})
		if err != nil {
			return c.storeFailed(op, err)
		}
		res := w.Results[0]
		code, _ := codeOf(res.Err)
		if errors.Is(res.Err, znode.ErrTooLarge) {
			c.log().Warn("write refused: beyond the store's transaction limits", zap.Stringer("op", op))
		}
		if code != zkwire.CodeOK {
			return c.answered(op, code, c.reply(h.Xid, w.Zxid, code, nil))
		}
		var out zkwire.Record
		switch req.(type) {
		case *zkwire.Create:
			out = &zkwire.CreateResponse{Path: res.Path}
		case *zkwire.Create2, *zkwire.CreateContainer, *zkwire.CreateTTL:
			out = &zkwire.Create2Response{Path: res.Path, Stat: wireStat(res.Stat)}
		case *zkwire.SetData, *zkwire.SetACL:
			out = &zkwire.StatResponse{Stat: wireStat(res.Stat)}
		}
		if op == zkwire.OpDeleteContainer {
			out = nil
		}
		return c.answered(op, code, c.reply(h.Xid, w.Zxid, code, out))
	}

	var rd znode.Read
	var out zkwire.Record
	switch r := req.(type) {
	case *zkwire.Multi:
		return c.multi(ctx, h, r)
	case *zkwire.MultiRead:
		return c.multiRead(ctx, h, r)
	case *zkwire.GetData:
		if r.Watch {
			c.watched()
			rd, err = tree.GetDataWatch(ctx, c.auth, c.wconn, r.Path)
		} else {
			rd, err = tree.GetData(ctx, c.auth, r.Path)
		}
		out = &zkwire.GetDataResponse{Data: rd.Data, Stat: wireStat(rd.Stat)}
	case *zkwire.Exists:
		if r.Watch {
			c.watched()
			rd, err = tree.ExistsWatch(ctx, c.auth, c.wconn, r.Path)
		} else {
			rd, err = tree.Exists(ctx, c.auth, r.Path)
		}
		out = &zkwire.StatResponse{Stat: wireStat(rd.Stat)}
	case *zkwire.GetChildren:
		rd, err = c.getChildren(ctx, r.Path, r.Watch)
		out = &zkwire.GetChildrenResponse{Children: rd.Children}
	case *zkwire.GetChildren2:
		rd, err = c.getChildren(ctx, r.Path, r.Watch)
		out = &zkwire.GetChildren2Response{Children: rd.Children, Stat: wireStat(rd.Stat)}
	case *zkwire.GetACL:
		rd, err = tree.GetACL(ctx, c.auth, r.Path)
		out = &zkwire.GetACLResponse{ACL: wireACL(rd.ACL), Stat: wireStat(rd.Stat)}
	case *zkwire.GetAllChildrenNumber:
		rd, err = tree.GetAllChildrenNumber(ctx, c.auth, r.Path)
		out = &zkwire.GetAllChildrenNumberResponse{TotalNumber: rd.Count}
	case *zkwire.GetEphemerals:
		rd, err = tree.GetEphemerals(ctx, c.session.ID, r.PrefixPath)
		out = &zkwire.GetEphemeralsResponse{Ephemerals: rd.Children}
	case *zkwire.Sync:
		rd.Zxid, err = tree.Sync(ctx)
		out = &zkwire.SyncResponse{Path: javaString(r.Path)}
	case *zkwire.WhoAmI:
		var infos []zkwire.ClientInfo
		for _, id := range c.auth.WhoAmI() {
			infos = append(infos, zkwire.ClientInfo{AuthScheme: id.Scheme, User: id.ID})
		}
		return c.answered(op, zkwire.CodeOK, c.reply(h.Xid, c.lastZxid, zkwire.CodeOK, &zkwire.WhoAmIResponse{ClientInfo: infos}))
	case *zkwire.Auth:
		auth, err := c.auth.AddAuth(r.Scheme, r.Auth, tree.SuperDigest())
		if r.Auth == nil && r.Scheme == "digest" {
			// Null credentials fail ZooKeeper's digest provider (it cannot
			// decode them); empty ones are a valid, empty user.
			err = znode.ErrAuthFailed
		}
		if err != nil {
			// ZooKeeper answers AUTHFAILED and closes the connection.
			c.reply(h.Xid, 0, zkwire.CodeAuthFailed, nil)
			c.count(op, zkwire.CodeAuthFailed)
			return false
		}
		c.auth = auth
		return c.answered(op, zkwire.CodeOK, c.reply(h.Xid, 0, zkwire.CodeOK, nil))
	case *zkwire.SetWatches:
		return c.setWatches(ctx, h, r.RelativeZxid, r.Data, r.Exist, r.Child, nil, nil)
	case *zkwire.SetWatches2:
		return c.setWatches(ctx, h, r.RelativeZxid, r.Data, r.Exist, r.Child, r.Persistent, r.PersistentRecursive)
	case *zkwire.AddWatch:
		c.watched()
		rd, err = tree.AddWatch(ctx, c.wconn, r.Path, r.Mode)
		out = &zkwire.ErrorResponse{Err: zkwire.CodeOK}
	case *zkwire.CheckWatches:
		rd, err = tree.RemoveWatches(ctx, c.wconn, r.Path, r.Type, false)
	case *zkwire.RemoveWatches:
		rd, err = tree.RemoveWatches(ctx, c.wconn, r.Path, r.Type, true)
	case *zkwire.Reconfig:
		return c.answered(op, zkwire.CodeReconfigDisabled, c.reply(h.Xid, c.lastZxid, zkwire.CodeReconfigDisabled, nil))
	default:
		return c.unimplemented(h, op)
	}
	code, ok := codeOf(err)
	if !ok {
		return c.storeFailed(op, err)
	}
	zxid := rd.Zxid
	if zxid == 0 {
		zxid = c.lastZxid
	}
	if code != zkwire.CodeOK {
		out = nil
	}
	return c.answered(op, code, c.reply(h.Xid, zxid, code, out))
}

func (c *conn) getChildren(ctx context.Context, p string, watch bool) (znode.Read, error) {
	if !watch {
		return c.s.tree.GetChildren(ctx, c.auth, p)
	}
	c.watched()
	return c.s.tree.GetChildrenWatch(ctx, c.auth, c.wconn, p)
}

// setWatches re-registers a reconnecting client's watches; what changed
// since its last zxid is sent at once, before the reply, as ZooKeeper
// does.
func (c *conn) setWatches(ctx context.Context, h zkwire.RequestHeader, rel int64, data, exist, child, persistent, recursive []string) bool {
	op := h.Type
	c.watched()
	events, err := c.s.tree.SetWatches(ctx, c.wconn, rel, data, exist, child, persistent, recursive)
	if err != nil {
		return c.storeFailed(op, err)
	}
	if !c.sendEvents(events) {
		return false
	}
	return c.answered(op, zkwire.CodeOK, c.reply(h.Xid, c.lastZxid, zkwire.CodeOK, nil))
}

// malformedMulti answers a multi that cannot be decoded or mixes what a
// multi may not hold: MARSHALLINGERROR with no body, for which ZooKeeper
// still logs a transaction (a zxid).
func (c *conn) malformedMulti(h zkwire.RequestHeader) bool {
	ctx := c.opCtx(zkwire.OpMulti.String())
	zxid, err := c.s.tree.Fail(ctx, c.caller(), znode.ErrMarshalling)
	if err != nil {
		return c.storeFailed(zkwire.OpMulti, err)
	}
	return c.answered(zkwire.OpMulti, zkwire.CodeMarshallingError, c.reply(h.Xid, zxid, zkwire.CodeMarshallingError, nil))
}

func (c *conn) multi(ctx context.Context, h zkwire.RequestHeader, r *zkwire.Multi) bool {
	ops := make([]znode.Op, 0, len(r.Ops))
	withStat := make([]bool, 0, len(r.Ops))
	for _, o := range r.Ops {
		wop, stat, ok := multiOp(o)
		if !ok {
			return c.malformedMulti(h)
		}
		if _, ttl := o.(*zkwire.CreateTTL); ttl && !c.s.cfg.ExtendedTypes {
			wop = znode.FailOp(znode.ErrUnimplemented)
		}
		ops = append(ops, wop)
		withStat = append(withStat, stat)
	}
	w, err := c.s.tree.Write(ctx, c.caller(), ops)
	if err != nil {
		return c.storeFailed(zkwire.OpMulti, err)
	}
	if errors.Is(w.Failed(), znode.ErrTooLarge) {
		// No op is at fault: the multi as a whole is refused, with the
		// code in the header and no body, as ZooKeeper refuses a multi
		// it cannot take (MARSHALLINGERROR); a zxid was used.
		c.log().Warn("multi refused: beyond the store's transaction limits", zap.Int("ops", len(ops)))
		return c.answered(zkwire.OpMulti, zkwire.CodeBadArguments, c.reply(h.Xid, w.Zxid, zkwire.CodeBadArguments, nil))
	}
	resp := &zkwire.MultiResponse{Results: make([]zkwire.OpResult, len(ops))}
	if w.Failed() != nil {
		for i, res := range w.Results {
			code, _ := codeOf(res.Err)
			resp.Results[i] = zkwire.OpResult{Type: zkwire.OpError, Err: code}
		}
	} else {
		for i, res := range w.Results {
			o := r.Ops[i]
			switch o.(type) {
			case *zkwire.Create, *zkwire.Create2, *zkwire.CreateContainer, *zkwire.CreateTTL:
				if withStat[i] {
					resp.Results[i] = zkwire.OpResult{Type: zkwire.OpCreate2, Path: res.Path, Stat: wireStat(res.Stat)}
				} else {
					resp.Results[i] = zkwire.OpResult{Type: zkwire.OpCreate, Path: res.Path}
				}
			case *zkwire.SetData:
				resp.Results[i] = zkwire.OpResult{Type: zkwire.OpSetData, Stat: wireStat(res.Stat)}
			default:
				resp.Results[i] = zkwire.OpResult{Type: o.Opcode()}
			}
		}
	}
	return c.answered(zkwire.OpMulti, zkwire.CodeOK, c.reply(h.Xid, w.Zxid, zkwire.CodeOK, resp))
}

func (c *conn) multiRead(ctx context.Context, h zkwire.RequestHeader, r *zkwire.MultiRead) bool {
	ops := make([]znode.ReadOp, len(r.Ops))
	for i, o := range r.Ops {
		switch o := o.(type) {
		case *zkwire.GetData:
			ops[i] = znode.ReadOp{Path: o.Path}
		case *zkwire.GetChildren:
			ops[i] = znode.ReadOp{Path: o.Path, Children: true}
		}
	}
	reads, errs, zxid, err := c.s.tree.MultiRead(ctx, c.auth, ops)
	if err != nil {
		return c.storeFailed(zkwire.OpMultiRead, err)
	}
	resp := &zkwire.MultiResponse{Results: make([]zkwire.OpResult, len(ops))}
	for i, rd := range reads {
		code, ok := codeOf(errs[i])
		if !ok {
			return c.storeFailed(zkwire.OpMultiRead, errs[i])
		}
		switch {
		case code != zkwire.CodeOK:
			resp.Results[i] = zkwire.OpResult{Type: zkwire.OpError, Err: code}
		case ops[i].Children:
			resp.Results[i] = zkwire.OpResult{Type: zkwire.OpGetChildren, Children: rd.Children}
		default:
			resp.Results[i] = zkwire.OpResult{Type: zkwire.OpGetData, Data: rd.Data, Stat: wireStat(rd.Stat)}
		}
	}
	return c.answered(zkwire.OpMultiRead, zkwire.CodeOK, c.reply(h.Xid, zxid, zkwire.CodeOK, resp))
}

// unimplemented answers as ZooKeeper does for a request it does not know:
// UNIMPLEMENTED with zxid −1, then the connection is closed.
func (c *conn) unimplemented(h zkwire.RequestHeader, op zkwire.OpCode) bool {
	c.reply(h.Xid, -1, zkwire.CodeUnimplemented, nil)
	c.count(op, zkwire.CodeUnimplemented)
	c.log().Info("unimplemented request; closing", zap.Int32("op", int32(h.Type)))
	return false
}

// storeFailed closes the connection after a store failure: the client
// reconnects (elsewhere) and retries, as after a server failure. A request
// beyond the store's transaction limits (znode.ErrTooLarge) is answered
// BADARGUMENTS instead, and the connection kept: a retry would fail alike. A write
// through a connection that no longer owns its session is not answered
// (ZooKeeper's SESSIONMOVED); one of a session that is gone gets
// SESSIONEXPIRED. Both close the connection.
func (c *conn) storeFailed(op zkwire.OpCode, err error) bool {
	switch {
	case errors.Is(err, znode.ErrSessionMoved):
		c.log().Info("session moved to another connection; closing this one", zap.Stringer("op", op))
		c.count(op, zkwire.CodeSessionMoved)
		return false
	case errors.Is(err, znode.ErrTooLarge):
		// Not a failure of the store: the request is beyond what one
		// transaction can do, and would be again. Refused, as ZooKeeper
		// refuses arguments it cannot take; the connection goes on.
		c.log().Warn("request refused: beyond the store's transaction limits", zap.Stringer("op", op), zap.Error(err))
		return c.answered(op, zkwire.CodeBadArguments, c.reply(c.xid, c.lastZxid, zkwire.CodeBadArguments, nil))
	case errors.Is(err, znode.ErrSessionExpired):
		c.log().Info("session expired; closing", zap.Stringer("op", op))
		c.closed = true
		c.reply(c.xid, 0, zkwire.CodeSessionExpired, nil)
		c.count(op, zkwire.CodeSessionExpired)
		return false
	}
	c.log().Error("request failed in the store; closing the connection", zap.Stringer("op", op), zap.Error(err))
	c.count(op, zkwire.CodeSystemError)
	return false
}

func (c *conn) answered(op zkwire.OpCode, code zkwire.Code, ok bool) bool {
	c.count(op, code)
	return ok
}

func (c *conn) count(op zkwire.OpCode, code zkwire.Code) {
	c.s.metrics.requestCounter(op, code).Inc()
}
