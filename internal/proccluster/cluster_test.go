//go:build fdb

package proccluster

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// connect opens a go-zookeeper session on the given layerds.
func connect(t *testing.T, addrs []string, timeout time.Duration) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	conn, events, err := zk.Connect(addrs, timeout, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn, events
			}
		case <-deadline:
			t.Fatal("no session within 30 s")
		}
	}
}

// TestClusterServes: three hosts, each with an fdbserver and a sweeperd,
// and three layerds; a write through one layerd is read through each.
func TestClusterServes(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	w, _ := connect(t, c.Addrs()[:1], 4*time.Second)
	if _, err := w.Create("/served", []byte("v1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, addr := range c.Addrs() {
		r, _ := connect(t, []string{addr}, 4*time.Second)
		if _, err := r.Sync("/served"); err != nil {
			t.Fatal(err)
		}
		got, _, err := r.Get("/served")
		if err != nil || string(got) != "v1" {
			t.Fatalf("get through %s = %q, %v; want v1", addr, got, err)
		}
	}
	out, err := c.CLI(t.Context(), "status")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out)
}
