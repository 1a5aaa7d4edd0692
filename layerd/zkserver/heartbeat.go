package zkserver

import (
	"context"
	"time"

	"go.uber.org/zap"

	"zkfdb/shared/znode"
)

// Session liveness (DESIGN.md §4): every request of a connection touches
// its session; once per tick of the cluster's clock, the server refreshes,
// in one commit, the sessions touched since the last tick whose expiry
// tick moves. A session the store no longer has (the sweeper expired it)
// has its connections closed: the client reconnects and is told it
// expired.

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
	var tick int64
	for {
		next, err := s.tree.WaitTick(ctx, tick)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Warn("waiting for the clock failed", zap.Error(err))
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		tick = next
		if err := s.heartbeat(ctx, tick); err != nil && ctx.Err() == nil {
			s.log.Warn("session heartbeat failed; retrying next tick", zap.Error(err))
		}
	}
}

func (s *Server) heartbeat(ctx context.Context, tick int64) error {
	var beats []znode.Beat
	s.mu.Lock()
	for id, t := range s.live {
		if !t.touched {
			continue
		}
		if expiry := tick + s.tree.TimeoutTicks(t.timeoutMs); expiry > t.written {
			beats = append(beats, znode.Beat{Session: id, Expiry: expiry})
		}
	}
	s.mu.Unlock()
	if len(beats) == 0 {
		return nil
	}
	gone, err := s.tree.Heartbeat(ctx, beats)
	if err != nil {
		return err
	}
	s.metrics.heartbeats.Add(float64(len(beats)))
	isGone := map[int64]bool{}
	for _, id := range gone {
		isGone[id] = true
	}
	var doomed []*conn
	s.mu.Lock()
	for _, b := range beats {
		t := s.live[b.Session]
		if t == nil {
			continue
		}
		if isGone[b.Session] {
			for c := range t.conns {
				doomed = append(doomed, c)
			}
			continue
		}
		t.touched = false
		t.written = max(t.written, b.Expiry)
	}
	s.mu.Unlock()
	for _, c := range doomed {
		c.log.Info("session expired; closing its connection")
		c.close()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
