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

// tracked is a session with connections on this server.
type tracked struct {
	timeoutMs int32
	touched   bool
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
	t.timeoutMs = c.session.Timeout
	t.touched = true
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

// touch notes traffic on c's session.
func (s *Server) touch(c *conn) {
	s.mu.Lock()
	if t := s.live[c.session.ID]; t != nil {
		t.touched = true
	}
	s.mu.Unlock()
}

// RunHeartbeats refreshes the sessions of this server's connections once
// per tick of the cluster's clock until ctx ends. It returns nil then.
func (s *Server) RunHeartbeats(ctx context.Context) error {
	ctx = metered.WithOp(ctx, "heartbeat") // waiting for the clock too
	s.tree.EachTick(ctx, func(tick int64) {
		if err := s.heartbeat(ctx, tick); err != nil && ctx.Err() == nil {
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
	s.mu.Lock()
	touched := false
	for _, t := range s.live {
		touched = touched || t.touched
	}
	s.mu.Unlock()
	if !touched {
		return nil
	}
	ctx = metered.WithOp(ctx, "heartbeat")
	tick, err := s.tree.Now(ctx)
	if err != nil {
		return err
	}
	return s.heartbeat(ctx, tick)
}

func (s *Server) heartbeat(ctx context.Context, tick int64) error {
	var beats []znode.Beat
	s.mu.Lock()
	for id, t := range s.live {
		if !t.touched {
			continue
		}
		if expiry := tick + s.tree.TimeoutTicks(t.timeoutMs); expiry > t.written {
			beats = append(beats, znode.Beat{Session: id, Expiry: expiry, Old: t.written})
		}
	}
	s.mu.Unlock()
	if len(beats) == 0 {
		return nil
	}
	if _, err := s.tree.Heartbeat(ctx, beats); err != nil {
		return err
	}
	s.metrics.heartbeats.Add(float64(len(beats)))
	s.mu.Lock()
	for _, b := range beats {
		if t := s.live[b.Session]; t != nil {
			t.touched = false
			t.written = max(t.written, b.Expiry)
		}
	}
	s.mu.Unlock()
	return nil
}
