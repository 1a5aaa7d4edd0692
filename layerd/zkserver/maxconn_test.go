package zkserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"zkfdb/internal/engines"
	"zkfdb/layerd/layer"
	"zkfdb/layerd/zkserver"
	"zkfdb/layerd/zkserver/zkservertest"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/clock"
)

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// TestMaxConnections: a server holding MaxConnections closes one more
// connection at once, before any store work, and keeps serving the
// others; when one goes, a new one gets in. Eight clients retrying
// against room for three cost the rest nothing: the clock (a store watch
// of the process's own) keeps ticking and no store watch is refused.
func TestMaxConnections(t *testing.T) { engines.Each(t, testMaxConnections) }

func testMaxConnections(t *testing.T, e engines.Engine) {
	const max = 3
	st := e.Open(t, engines.Options{MaxWatches: max + 16})
	core, logs := observer.New(zapcore.WarnLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	reg := prometheus.NewRegistry()
	tick := 100 * time.Millisecond
	addr, _ := zkservertest.Serve(t, st.DB, layer.Config{Root: st.Root, Sweep: true, Tick: tick,
		Server: zkserver.Config{MaxConnections: max}, Logger: log, Registerer: reg})

	var conns []*zk.Conn
	for range max {
		c, ev, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		awaitHasSession(t, ev)
		conns = append(conns, c)
	}

	// One more: closed before its ConnectRequest is even read.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write(zkwire.AppendFramed(nil, &zkwire.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, 16)}))
	if _, err := zkwire.ReadFrame(nc, 0); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("a connection beyond the limit read %v, want it closed", err)
	}
	nc.Close()
	if n := refused(t, reg); n < 1 {
		t.Errorf("layerd_connections_refused_total = %v, want at least 1", n)
	}
	for i, c := range conns {
		if _, _, err := c.Exists("/"); err != nil {
			t.Errorf("client %d after the refusal: %v", i, err)
		}
	}

	// Five more clients keep trying (go-zookeeper reconnects at once)
	// while the clock must still tick.
	var extra []*zk.Conn
	for range 5 {
		c, _, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}))
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, c)
	}
	defer func() {
		for _, c := range extra {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	now, err := clock.Now(ctx, st.DB, st.Root.Clock())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clock.WaitAfter(ctx, st.DB, st.Root.Clock(), now+5); err != nil {
		t.Fatalf("the clock stopped while clients were refused: %v", err)
	}
	for _, e := range logs.All() {
		if strings.Contains(e.Message+fieldsOf(e), "too_many_watches") {
			t.Errorf("a store watch was refused: %s %s", e.Message, fieldsOf(e))
		}
	}

	// When one client goes, a waiting one gets its place.
	conns[0].Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		connected := 0
		for _, c := range extra {
			if c.State() == zk.StateHasSession {
				connected++
			}
		}
		if connected == 1 {
			break
		}
		if connected > 1 {
			t.Fatalf("%d waiting clients got in for one place", connected)
		}
		if time.Now().After(deadline) {
			t.Fatal("no waiting client got the place of the one that left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func awaitHasSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session within 20 s")
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// refused reads layerd_connections_refused_total.
func refused(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return counter(t, reg, "layerd_connections_refused_total")
}

// counter reads a counter of reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

func fieldsOf(e observer.LoggedEntry) string {
	var b strings.Builder
	for k, v := range e.ContextMap() {
		b.WriteString(" " + k + "=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else if er, ok := v.(error); ok {
			b.WriteString(er.Error())
		}
	}
	return b.String()
}

// TestMaxClientCnxns: ZooKeeper's maxClientCnxns bounds the connections
// of one client IP address: one more from that address is closed at
// accept (connection_rejected counts it) while another address still
// gets in; when one of the first closes, its address gets in again.
func TestMaxClientCnxns(t *testing.T) { engines.Each(t, testMaxClientCnxns) }

func testMaxClientCnxns(t *testing.T, e engines.Engine) {
	const max = 3
	st := e.Open(t, engines.Options{})
	reg := prometheus.NewRegistry()
	addr, _ := zkservertest.Serve(t, st.DB, layer.Config{Root: st.Root, Sweep: true, Tick: 100 * time.Millisecond,
		Server: zkserver.Config{MaxClientCnxns: max}, Logger: zaptest.NewLogger(t), Registerer: reg})
	// connectFrom opens a session from the local address ip and reports
	// whether the server answered its ConnectRequest.
	connectFrom := func(ip string) (net.Conn, bool) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		nc.Write(zkwire.AppendFramed(nil, &zkwire.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, 16)}))
		_, err = zkwire.ReadFrame(nc, 0)
		if err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("connect from %s: %v", ip, err)
		}
		return nc, err == nil
	}
	var first []net.Conn
	for i := range max {
		nc, ok := connectFrom("127.0.0.1")
		if !ok {
			t.Fatalf("connection %d of %d from 127.0.0.1 refused", i+1, max)
		}
		first = append(first, nc)
	}
	if _, ok := connectFrom("127.0.0.1"); ok {
		t.Fatalf("connection %d from 127.0.0.1 served, want it closed (maxClientCnxns %d)", max+1, max)
	}
	if _, ok := connectFrom("127.0.0.2"); !ok {
		t.Fatal("a connection from 127.0.0.2 refused: the limit is per address")
	}
	if n := counter(t, reg, "connection_rejected"); n != 1 {
		t.Errorf("connection_rejected = %v, want 1", n)
	}
	first[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := connectFrom("127.0.0.1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("127.0.0.1 still refused 10 s after one of its connections closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestZooKeeperMetricNames: the counters srvr shows are exported under
// ZooKeeper's Prometheus names, and move with traffic.
func TestZooKeeperMetricNames(t *testing.T) { engines.Each(t, testZooKeeperMetricNames) }

func testZooKeeperMetricNames(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	reg := prometheus.NewRegistry()
	addr, _ := zkservertest.Serve(t, st.DB, layer.Config{Root: st.Root, Sweep: true, Tick: 100 * time.Millisecond, Logger: zaptest.NewLogger(t), Registerer: reg})
	c, ev, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	awaitHasSession(t, ev)
	for range 5 {
		if _, _, err := c.Exists("/"); err != nil {
			t.Fatal(err)
		}
	}
	values := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		values[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	// A reply is counted once written, which may be after its client read
	// it: the last one may not be counted yet.
	for name, least := range map[string]float64{"packets_received": 6, "packets_sent": 5, "global_sessions": 1, "num_alive_connections": 1} {
		if v, ok := values[name]; !ok || v < least {
			t.Errorf("%s = %v (exported %v), want at least %v", name, v, ok, least)
		}
	}
	for _, name := range []string{"avg_latency", "min_latency", "max_latency", "outstanding_requests"} {
		if _, ok := values[name]; !ok {
			t.Errorf("%s is not exported", name)
		}
	}
}
