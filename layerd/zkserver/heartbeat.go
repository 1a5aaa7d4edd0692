package zkserver

import (
	"context"

	"go.uber.org/zap"

	"zkfdb/shared/znode"
)

// Session liveness (DESIGN.md §4): every request of a connection touches
// its session; once per tick of the cluster's clock, the server refreshes,
// in one commit, the sessions touched since the last tick whose expiry
// tick moves. A session the store no longer has (the sweeper expired it)
// has its connections closed: the client reconnects and is told it
// expired. So has a connection that no longer owns its session (it was
// resumed through another).

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
	// The session moved here from another of this server's connections:
	// that one is closed now (ZooKeeper's SESSIONMOVED); one on another
	// server is closed by its server's next heartbeat, and its writes
	// fail until then.
	for old := range t.conns {
		old.log.Info("session moved to another connection; closing this one")
		old.close()
	}
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
	s.tree.EachTick(ctx, func(tick int64) {
		if err := s.heartbeat(ctx, tick); err != nil && ctx.Err() == nil {
			s.log.Warn("session heartbeat failed; retrying next tick", zap.Error(err))
		}
	}, func(err error) {
		s.log.Warn("waiting for the clock failed", zap.Error(err))
	})
	return nil
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
	r, err := s.tree.Heartbeat(ctx, beats)
	if err != nil {
		return err
	}
	s.metrics.heartbeats.Add(float64(len(beats)))
	var expired, moved []*conn
	s.mu.Lock()
	for _, b := range beats {
		t := s.live[b.Session]
		if t == nil {
			continue
		}
		owner, live := r.Owners[b.Session]
		for c := range t.conns {
			switch {
			case !live:
				expired = append(expired, c)
			case c.wconn.ID != owner:
				moved = append(moved, c)
			}
		}
		t.touched = false
		t.written = max(t.written, b.Expiry)
	}
	s.mu.Unlock()
	for _, c := range expired {
		c.log.Info("session expired; closing its connection")
		c.close()
	}
	for _, c := range moved {
		c.log.Info("session moved to another connection; closing this one")
		c.close()
	}
	return nil
}
