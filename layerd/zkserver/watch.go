package zkserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"

	"go.uber.org/zap"

	"zkfdb/layerd/zkwire"
	"zkfdb/shared/store"
	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// Watch events reach a connection two ways (znode's watch.go): before
// each reply, the events logged at or before the state the reply shows;
// and, when the session's notify key changes while the client is quiet,
// the rest. Both run on the connection's goroutine, so events and replies
// leave in one order. Every connection watches its session's notify key
// from the handshake on: it also changes when the session is resumed
// through another connection or expires, and the connection then closes
// (ZooKeeper's SESSIONMOVED; an expired session's connection is closed
// whichever layerd holds it).

// connID returns a random connection id, never 0.
func connID() int64 {
	for {
		var b [8]byte
		rand.Read(b[:])
		if id := int64(binary.BigEndian.Uint64(b[:])); id != 0 {
			return id
		}
	}
}

// watched notes that the connection sets a watch: from now on events are
// delivered.
func (c *conn) watched() { c.watching = true }

// deliverUpTo sends the events logged at or before version.
func (c *conn) deliverUpTo(version int64) bool {
	ctx := c.opCtx("events")
	// Read at version, which may be older than the request being
	// answered: it must not date the request (heartbeat.go).
	ctx = store.WithReadVersions(ctx, nil)
	events, next, err := c.s.tree.Events(ctx, c.wconn, c.cursor, version)
	if err != nil {
		c.log().Error("reading watch events failed; closing", zap.Error(err))
		return false
	}
	c.cursor = next
	c.delivered += len(events)
	return c.sendEvents(events)
}

// clearEvery is how many delivered events a connection leaves in its
// session's log before an arming clears them: clearing at every arming
// made each delivery a commit (the watch workload spent one commit of its
// three per event on it). What is left is cleared by a later arming, the
// connection's end (DropConnection) or the session's.
const clearEvery = 32

// armNotify sends the events logged since the cursor and watches the
// notify key again; once clearEvery events were delivered, it clears them
// from the log first.
func (c *conn) armNotify() bool {
	if c.notify != nil {
		c.notifyGen.Add(1) // its end is not news
		c.notify.Cancel()
		c.notify = nil
	}
	ctx := c.opCtx("events")
	clear := c.delivered >= clearEvery
	a, err := c.s.tree.ArmNotify(ctx, c.wconn, c.cursor, clear)
	if err != nil {
		c.log().Error("watching the session's notify key failed; closing", zap.Error(err))
		return false
	}
	if clear {
		c.delivered = 0
	}
	c.delivered += len(a.Events)
	c.cursor, c.notify = a.Cursor, a.Notify
	if c.notify != nil {
		c.watchNotify(c.notify)
	}
	switch {
	case !a.Alive:
		c.log().Info("session expired; closing its connection")
		c.closed = true
		return false
	case a.Owner != c.wconn.ID:
		c.log().Info("session moved to another connection; closing this one")
		return false
	}
	if !c.watching {
		return true // no watch set: the events are an earlier connection's
	}
	return c.sendEvents(a.Events)
}

// watchNotify has w, the connection's notify watch, wake await when it
// fires (or fails: armNotify then finds out why), with no goroutine
// waiting for it: the flag, a read deadline of now for a read under
// way, and a wake if the connection is parked.
func (c *conn) watchNotify(w store.Watch) {
	gen := c.notifyGen.Add(1)
	w.AfterDone(func() {
		if c.notifyGen.Load() == gen {
			c.notified.Store(true)
			c.nc.SetReadDeadline(time.Now())
			c.wake() // if parked
		}
	})
}

// sendEvents writes notifications, skipping those the connection may not
// read (ZooKeeper 3.9.2's filter).
func (c *conn) sendEvents(events []znode.Event) bool {
	for _, e := range events {
		if !e.Visible(c.auth) {
			continue
		}
		c.out = zkwire.AppendReply(c.out, zkwire.ReplyHeader{Xid: zkwire.XidNotification, Zxid: e.Zxid},
			&zkwire.WatcherEvent{Type: zkwire.EventType(e.Type), State: zkwire.StateSyncConnected, Path: e.Path})
		c.packet(false)
	}
	// Before a held reply they wait with it; alone they go out now.
	return c.send()
}

// dropWatches removes the connection's watches when it ends, as ZooKeeper
// drops a closed connection's watches; the client sets them again with
// setWatches on its next connection.
func (c *conn) dropWatches() {
	if c.notify != nil {
		c.notifyGen.Add(1)
		c.notify.Cancel()
	}
	if !c.watching || c.closed || c.s.isKilled() {
		return
	}
	ctx, cancel := context.WithTimeout(metered.WithOp(c.s.base, "events"), 10*time.Second)
	defer cancel()
	if err := c.s.tree.DropConnection(ctx, c.wconn); err != nil {
		c.log().Warn("dropping a closed connection's watches failed; the session's expiry will", zap.Error(err))
	}
}
