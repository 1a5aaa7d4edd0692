// Package cutdial gives a ZooKeeper client, in tests, a connection that
// can be cut as a dying process's is: the socket closes with no
// closeSession sent, and no reconnection follows, so the server sees the
// client vanish and must expire its session. go-zookeeper takes the
// Dialer through zk.WithDialer.
package cutdial

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ErrDead is what Dial returns once the client is dead.
var ErrDead = errors.New("dead client")

// Dialer dials TCP and remembers the last connection, so that Die can
// close it. Its methods are safe for concurrent use; the zero value is
// ready.
type Dialer struct {
	mu   sync.Mutex
	nc   net.Conn
	dead bool
}

// Dial is a zk.Dialer: it fails with ErrDead once Die was called.
func (d *Dialer) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		return nil, ErrDead
	}
	nc, err := net.DialTimeout(network, address, timeout)
	d.nc = nc
	return nc, err
}

// Die closes the connection and refuses every later dial.
func (d *Dialer) Die() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	if d.nc != nil {
		d.nc.Close()
	}
}

// Dead reports whether Die was called (and Revive not since).
func (d *Dialer) Dead() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dead
}

// Revive lets the client dial again: go-zookeeper then reconnects with its
// session id and password, as a process restarted with them would.
func (d *Dialer) Revive() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = false
}
