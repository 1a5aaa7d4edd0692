package zkserver

import (
	"context"

	"go.uber.org/zap"

	"zkfdb/shared/store/metered"
	"zkfdb/shared/znode"
)

// Session liveness (DESIGN.md §4): every request of a connection touches
// its session; once per tick of the cluster's clock, the server refreshes,
// in one commit, the sessions touched since the last tick whose expiry
// tick moves. (A connection whose session expires or is resumed through
// another connection is closed when its session's notify key changes:
// watch.go.)
//
// A refresh counts the timeout from the tick the session's last request
// arrived in (shared/znode/expiry.go), as far as the server knows it. A
// request's transactions read at versions fetched after it arrived, so
// the tick at the highest of them is at least the tick it arrived in; the
// clock's stamp (shared/clock.ReadStamp) gives the version its current
// tick committed at, and a read version below it read the tick before.
// A request whose tick the server cannot tell that way (a ping, a
// request answered without the store) counts from the tick read after
// it, which is at most a tick later.

// tracked is a session with connections on this server.
type tracked struct {
	timeoutMs int32
	// What arrived since the last refresh: blind, a request of unknown
	// tick; rv, the highest read version of the other requests'
	// transactions (0: none).
	blind   bool
	rv      int64
	written int64 // the expiry tick last written
	conns   map[*conn]struct{}
}

// attach starts tracking c's session.
func (s *Server) attach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.live[c.session.ID]
	if t == nil {
		t = &tracked{conns: map[*conn]struct{}{}}
		s.live[c.session.ID] = t
	}
	// The create or resume just wrote the session's expiry, counted from
	// a tick read after the ConnectRequest arrived: nothing to refresh.
	t.timeoutMs = c.session.Timeout
	t.written = max(t.written, c.session.Expiry)
	t.conns[c] = struct{}{}
}

// detach stops tracking c.
func (s *Server) detach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.live[c.session.ID]
	if t == nil {
		return
	}
	delete(t.conns, c)
	if len(t.conns) == 0 {
		delete(s.live, c.session.ID)
	}
}

// touch notes a request on c's session whose transactions read at
// versions up to rv (0: none, or not known).
func (s *Server) touch(c *conn, rv int64) {
	s.mu.Lock()
	if t := s.live[c.session.ID]; t != nil {
		if rv == 0 {
			t.blind = true
		} else {
			t.rv = max(t.rv, rv)
		}
	}
	s.mu.Unlock()
}

// RunHeartbeats refreshes the sessions of this server's connections once
// per tick of the cluster's clock until ctx ends. It returns nil then.
func (s *Server) RunHeartbeats(ctx context.Context) error {
	ctx = metered.WithOp(ctx, "heartbeat") // waiting for the clock too
	s.tree.EachTick(ctx, func(int64) {
		if err := s.heartbeat(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("session heartbeat failed; retrying next tick", zap.Error(err))
		}
	}, func(err error) {
		s.log.Warn("waiting for the clock failed", zap.Error(err))
	})
	return nil
}

// flushHeartbeats refreshes, at the current tick, every session with
// traffic since its last refresh: on a graceful shutdown, so that each
// client moving to another layerd has its whole timeout from its last
// request to get there, as ZooKeeper counts it.
func (s *Server) flushHeartbeats(ctx context.Context) error {
	return s.heartbeat(metered.WithOp(ctx, "heartbeat"))
}

// arrived is what a session's requests since its last refresh tell of
// the tick they arrived in (tracked's blind and rv).
type arrived struct {
	session   int64
	timeoutMs int32
	blind     bool
	rv        int64
	written   int64
}

// heartbeat refreshes the sessions with requests since their last
// refresh. It takes those requests before it reads the clock, so that the
// tick it reads is at least the tick each of them arrived in; requests
// arriving meanwhile wait for the next heartbeat.
func (s *Server) heartbeat(ctx context.Context) error {
	var due []arrived
	s.mu.Lock()
	for id, t := range s.live {
		if t.blind || t.rv != 0 {
			due = append(due, arrived{id, t.timeoutMs, t.blind, t.rv, t.written})
			t.blind, t.rv = false, 0
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	tick, stamp, stamped, err := s.tree.NowStamped(ctx)
	if err != nil {
		s.untake(due)
		return err
	}
	var beats []znode.Beat
	for _, a := range due {
		at := tick
		if !a.blind && stamped && a.rv < stamp.Version {
			at = tick - 1 // every transaction of them read an earlier tick
		}
		if expiry := at + s.tree.TimeoutTicks(a.timeoutMs); expiry > a.written {
			beats = append(beats, znode.Beat{Session: a.session, Expiry: expiry, Old: a.written})
		}
	}
	if len(beats) == 0 {
		return nil
	}
	if _, err := s.tree.Heartbeat(ctx, beats); err != nil {
		s.untake(due)
		return err
	}
	s.metrics.heartbeats.Add(float64(len(beats)))
	s.mu.Lock()
	for _, b := range beats {
		if t := s.live[b.Session]; t != nil {
			t.written = max(t.written, b.Expiry)
		}
	}
	s.mu.Unlock()
	return nil
}

// untake gives back requests a failed heartbeat took, for the next one.
func (s *Server) untake(due []arrived) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range due {
		if t := s.live[a.session]; t != nil {
			t.blind = t.blind || a.blind
			t.rv = max(t.rv, a.rv)
		}
	}
}
