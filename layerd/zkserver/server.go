// Package zkserver serves ZooKeeper clients for layerd.
//
// For now it only accepts: each client connection is counted, logged and
// closed at once, because the ZooKeeper wire protocol is the next issue.
// The Serve/Shutdown shape (net/http's) is the one the protocol server
// keeps.
package zkserver

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("zkserver: server closed")

// Server accepts ZooKeeper client connections. Its methods are safe for
// concurrent use.
type Server struct {
	log     *zap.Logger
	metrics *metrics

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	serving   sync.WaitGroup // one per running Serve
}

type metrics struct {
	connections prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		// ZooKeeper's own name for this counter.
		connections: f.NewCounter(prometheus.CounterOpts{
			Name: "connection_request_count",
			Help: "Incoming client connection requests.",
		}),
	}
}

// New returns a Server that logs to log and registers its metrics on reg
// (nil: unregistered).
func New(log *zap.Logger, reg prometheus.Registerer) *Server {
	return &Server{
		log:       log.Named("zkserver"),
		metrics:   newMetrics(reg),
		listeners: make(map[net.Listener]struct{}),
	}
}

// Serve accepts connections on ln until Shutdown, and closes ln before it
// returns. It always returns a non-nil error: ErrServerClosed after
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.serving.Done()
	defer ln.Close()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			// Out of file descriptors: wait for some to be freed, as
			// net/http does, instead of giving up on every client.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.handle(conn)
	}
}

// handle closes conn: the ZooKeeper protocol is not implemented yet.
func (s *Server) handle(conn net.Conn) {
	s.metrics.connections.Inc()
	s.log.Info("client connection closed: ZooKeeper protocol not implemented yet",
		zap.Stringer("remote", conn.RemoteAddr()))
	if err := conn.Close(); err != nil {
		s.log.Debug("close client connection", zap.Error(err))
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	s.serving.Add(1)
	return true
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shutdown closes the listeners and waits, until ctx is done, for every
// Serve to return. Later calls to Serve return ErrServerClosed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var errs []error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	clear(s.listeners)
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.serving.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}
