//go:build linux

package zkserver

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller holds idle connections with no goroutine: their sockets in an
// epoll set of the server's own, and one goroutine waiting on the set.
// Go's network poller parks a goroutine per blocked read, and the
// stack of an idle connection's goroutine was most of what a held
// session cost layerd (scripts/bench-sessions). A parked connection is
// woken (conn.wake) when its socket is readable or closed, when its
// notify watch fires (watchNotify), or when its silence timer ends; the
// wake starts a goroutine that goes on serving it.
//
// The set's own descriptor waits in Go's network poller (it is readable
// while a socket in it is ready), so that the goroutine waiting on it
// is parked, not in a system call: blocked in epoll_wait it held the
// runtime's only P where layerd has one core (GOMAXPROCS 1) until the
// runtime's monitor took it back, and 18,000 idle sessions' pings
// waited 51 ms at p50 (6-13 ms since; 1.5 ms with GOMAXPROCS 2, where
// no system call holds the only P).
type poller struct {
	epfd   int
	set    *os.File // epfd, registered with Go's network poller
	wakefd int      // an eventfd in the set: written by stop
	mu     sync.Mutex
	conns  map[int32]*conn // by descriptor, those registered
	done   chan struct{}
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	// Non-blocking, os.NewFile registers it with the network poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	set := os.NewFile(uintptr(epfd), "zkserver-poller")
	rc, err := set.SyscallConn()
	if err != nil {
		set.Close()
		unix.Close(wakefd)
		return nil, err
	}
	p := &poller{epfd: epfd, set: set, wakefd: wakefd, conns: map[int32]*conn{}, done: make(chan struct{})}
	go p.run(rc)
	return p, nil
}

// run wakes the connections whose sockets are ready until stop.
func (p *poller) run(rc syscall.RawConn) {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var waitErr error
		// Read calls the function again each time the network poller
		// finds the set readable, until it returns true; epoll_wait
		// with no timeout never blocks. An interrupted one is asked
		// again at once: the network poller tells of a set becoming
		// ready, not of one that still is.
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, waitErr = unix.EpollWait(int(fd), events, 0)
				if !errors.Is(waitErr, unix.EINTR) {
					return n > 0 || waitErr != nil
				}
			}
		})
		if err == nil {
			err = waitErr
		}
		if err != nil {
			// Cannot happen with a valid set; the parked connections
			// still end at their silence timers.
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == int32(p.wakefd) {
				return
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
	}
}

// park registers c's socket, for one wake when it is readable or closed.
// false: it cannot be (the connection has no descriptor of its own, or
// is closed), and c must wait on a goroutine.
func (p *poller) park(c *conn) bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var ctlErr error
	// Control holds the descriptor open while it runs: it cannot be
	// closed, and its number reused, under the registration.
	err = rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
		if p.conns[int32(fd)] == c {
			ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
			if !errors.Is(ctlErr, unix.ENOENT) {
				return
			}
		}
		// A stale entry of a closed connection whose number this one
		// has is replaced: closing a descriptor leaves the set.
		ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
		if ctlErr == nil {
			p.conns[int32(fd)] = c
			c.fd = int32(fd)
		}
	})
	return err == nil && ctlErr == nil
}

// forget takes c's socket out of the set, before it is closed: after,
// its number may be another connection's.
func (p *poller) forget(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.fd >= 0 && p.conns[c.fd] == c {
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
		delete(p.conns, c.fd)
	}
}

// stop ends run and closes the set; the connections are closed already.
func (p *poller) stop() {
	unix.Write(p.wakefd, binary.NativeEndian.AppendUint64(nil, 1))
	<-p.done
	p.set.Close() // and epfd with it
	unix.Close(p.wakefd)
}
