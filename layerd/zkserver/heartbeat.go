package zkserver

import (
	"context"
	"time"

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
// A request answered without the store (a ping) is dated by a read
// version the server fetches after it (dating, below), for all such
// requests at once, at most every datingInterval; one that a heartbeat
// takes before that counts from the tick the heartbeat reads after it,
// which is at most a tick later.

// tracked is a session with connections on this server.
type tracked struct {
	timeoutMs int32
	// What arrived since the last refresh: blind, a request of unknown
	// tick; rv, the highest read version of the other requests'
	// transactions (0: none); undated, a request without a transaction
	// waiting for dating, noted while round undatedIn was the next.
	blind     bool
	rv        int64
	undated   bool
	undatedIn uint64
	queued    bool  // in Server.undated
	written   int64 // the expiry tick last written
	conns     map[*conn]struct{}
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
	t := s.live[c.session.ID]
	if t != nil && rv != 0 {
		t.rv = max(t.rv, rv)
	}
	wake := t != nil && rv == 0
	if wake {
		t.undated, t.undatedIn = true, s.datingRound
		if !t.queued {
			t.queued = true
			s.undated = append(s.undated, t)
		}
	}
	s.mu.Unlock()
	if wake {
		select {
		case s.dateWake <- struct{}{}:
		default:
		}
	}
}

// datingInterval is the least time between two rounds of dating: at most
// 100 read versions a second for a server's pings, however many. A ping
// within that much of the end of a tick may be dated a tick late.
const datingInterval = 10 * time.Millisecond

// runDating dates requests without a transaction until ctx ends.
func (s *Server) runDating(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dateWake:
		}
		next := time.Now().Add(datingInterval)
		s.date(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// date is one round of dating: it fetches a read version, after every
// request it dates arrived, and counts it as theirs.
func (s *Server) date(ctx context.Context) {
	s.mu.Lock()
	round := s.datingRound
	s.datingRound++
	batch := s.undated
	s.undated = nil
	for _, t := range batch {
		t.queued = false
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	rv, err := s.tree.ReadVersion(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range batch {
		// Not one a heartbeat took meanwhile, nor one touched again
		// after the version was asked for: that waits for the next round.
		if !t.undated || t.undatedIn > round {
			continue
		}
		t.undated = false
		if err != nil {
			t.blind = true
		} else {
			t.rv = max(t.rv, rv)
		}
	}
}

// RunHeartbeats refreshes the sessions of this server's connections once
// per tick of the cluster's clock until ctx ends. It returns nil then.
func (s *Server) RunHeartbeats(ctx context.Context) error {
	ctx = metered.WithOp(ctx, "heartbeat") // waiting for the clock too
	dating := make(chan struct{})
	go func() {
		defer close(dating)
		s.runDating(ctx)
	}()
	defer func() { <-dating }()
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
		if t.blind || t.undated || t.rv != 0 {
			// An undated request counts from the tick read below.
			due = append(due, arrived{id, t.timeoutMs, t.blind || t.undated, t.rv, t.written})
			t.blind, t.undated, t.rv = false, false, 0
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
