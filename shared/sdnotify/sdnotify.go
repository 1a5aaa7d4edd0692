// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)) without a library: a daemon sends newline-separated state
// assignments, one datagram at a time, to the unix socket named by
// $NOTIFY_SOCKET, and pings the watchdog every half of $WATCHDOG_USEC.
//
// Outside systemd (no $NOTIFY_SOCKET) every call is a no-op, so daemons need
// no special case for being run by hand.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// States a daemon sends.
const (
	// Ready tells systemd that start-up is finished (Type=notify).
	Ready = "READY=1"
	// Stopping tells systemd that shutdown has begun.
	Stopping = "STOPPING=1"
	// Watchdog resets the watchdog timer (WatchdogSec=).
	Watchdog = "WATCHDOG=1"
)

// ErrUnsupportedSocket is returned by Notify for a $NOTIFY_SOCKET that is
// not a unix socket path or an abstract ('@') name, such as systemd's
// vsock: addresses.
var ErrUnsupportedSocket = errors.New("sdnotify: unsupported NOTIFY_SOCKET")

// Notifier sends states to the service manager. It is safe for concurrent
// use. A nil *Notifier, or one made where $NOTIFY_SOCKET is unset, sends
// nothing.
type Notifier struct {
	socket   string
	watchdog time.Duration
}

// FromEnv returns the Notifier that $NOTIFY_SOCKET, $WATCHDOG_USEC and
// $WATCHDOG_PID describe for this process.
func FromEnv() *Notifier {
	return &Notifier{
		socket:   os.Getenv("NOTIFY_SOCKET"),
		watchdog: watchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID")),
	}
}

// watchdogInterval is half the watchdog timeout, as sd_watchdog_enabled(3)
// advises, or 0 if the watchdog is off or meant for another process.
func watchdogInterval(usec, pid string) time.Duration {
	if pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Microsecond / 2
}

// WatchdogInterval returns how often to send Watchdog, or 0 if systemd set
// no watchdog for this process.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// Notify sends states, such as Ready, in one datagram. Without a socket it
// does nothing and returns nil.
func (n *Notifier) Notify(states ...string) error {
	if n == nil || n.socket == "" {
		return nil
	}
	// An abstract socket is named with a leading '@'; Go's net package
	// turns that into the leading NUL byte the kernel expects.
	if !strings.HasPrefix(n.socket, "/") && !strings.HasPrefix(n.socket, "@") {
		return fmt.Errorf("%w: %q", ErrUnsupportedSocket, n.socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}
