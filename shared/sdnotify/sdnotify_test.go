package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listen binds a unixgram socket the way systemd does and points
// $NOTIFY_SOCKET at it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		socket func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify.sock") }},
		{"abstract", func(t *testing.T) string {
			return fmt.Sprintf("@zkfdb-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := listen(t, tc.socket(t))
			n := FromEnv()
			for _, states := range [][]string{{Ready}, {Watchdog}, {Stopping, "STATUS=bye"}} {
				if err := n.Notify(states...); err != nil {
					t.Fatalf("Notify(%q): %v", states, err)
				}
			}
			for _, want := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1\nSTATUS=bye"} {
				if got := receive(t, conn); got != want {
					t.Errorf("received %q, want %q", got, want)
				}
			}
		})
	}
}

func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := FromEnv().Notify(Ready); err != nil {
		t.Errorf("Notify without socket = %v, want nil", err)
	}
	var n *Notifier
	if err := n.Notify(Ready); err != nil {
		t.Errorf("nil Notifier: Notify = %v, want nil", err)
	}
	if d := n.WatchdogInterval(); d != 0 {
		t.Errorf("nil Notifier: WatchdogInterval = %v, want 0", d)
	}
}

func TestNotifyErrors(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
	if err := FromEnv().Notify(Ready); !errors.Is(err, ErrUnsupportedSocket) {
		t.Errorf("vsock socket: Notify = %v, want ErrUnsupportedSocket", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if err := FromEnv().Notify(Ready); err == nil {
		t.Error("Notify to a missing socket = nil, want an error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name, usec, pid string
		want            time.Duration
	}{
		{"unset", "", "", 0},
		{"half", "30000000", "", 15 * time.Second},
		{"this process", "2000000", self, time.Second},
		{"another process", "2000000", "1", 0},
		{"garbage", "soon", "", 0},
		{"zero", "0", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if got := FromEnv().WatchdogInterval(); got != tc.want {
				t.Errorf("WatchdogInterval with WATCHDOG_USEC=%q WATCHDOG_PID=%q = %v, want %v", tc.usec, tc.pid, got, tc.want)
			}
		})
	}
}
