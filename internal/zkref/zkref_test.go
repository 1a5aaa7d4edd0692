package zkref

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// connect opens a go-zookeeper session to addr and waits for it; the
// session is closed in t.Cleanup.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		// The event channel closes when the client's goroutines are done.
		timeout := time.After(10 * time.Second)
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
			case <-timeout:
				t.Errorf("go-zookeeper did not stop within 10s")
				return
			}
		}
	})
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			t.Fatalf("no session with %s within 30s", addr)
		}
	}
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf(format, args...) }

func TestStartCreateGetStop(t *testing.T) {
	s := StartT(t, Options{Properties: map[string]string{"zookeeper.extendedTypesEnabled": "true"}})
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %q, want a loopback address", s.Addr())
	}
	c := connect(t, s.Addr())
	if _, err := c.Create("/zkref", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create: %v", err)
	}
	data, stat, err := c.Get("/zkref")
	if err != nil || !bytes.Equal(data, []byte("hello")) || stat.Czxid == 0 || stat.Czxid != stat.Mzxid {
		t.Fatalf("get = %q, %+v, %v", data, stat, err)
	}
	// The TTL property reached the JVM.
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, zk.WorldACL(zk.PermAll), time.Hour); err != nil {
		t.Fatalf("createTTL with extended types on: %v", err)
	}
	srvr, err := FourLetterWord(context.Background(), s.Addr(), "srvr")
	if err != nil || !strings.Contains(srvr, "Zookeeper version: 3.") {
		t.Fatalf("srvr = %q, %v", srvr, err)
	}

	c.Close()
	dir := s.dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still there after Stop: %v", dir, err)
	}
	if _, err := FourLetterWord(context.Background(), s.Addr(), "ruok"); err == nil {
		t.Errorf("server still answers after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestTwoServersAtOnce(t *testing.T) {
	var servers [2]*Server
	errs := make(chan error, 2)
	for i := range servers {
		go func() {
			s, err := Start(context.Background(), Options{})
			servers[i] = s
			errs <- err
		}()
	}
	for range servers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() { s.Stop() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if servers[0].Addr() == servers[1].Addr() {
		t.Fatalf("both servers on %s", servers[0].Addr())
	}
	// Each has its own tree.
	a, b := connect(t, servers[0].Addr()), connect(t, servers[1].Addr())
	if _, err := a.Create("/only-a", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := b.Exists("/only-a"); err != nil || ok {
		t.Fatalf("exists on the other server = %v, %v; want false", ok, err)
	}
}

func TestTickTimeAndConfig(t *testing.T) {
	s := StartT(t, Options{TickTime: 500 * time.Millisecond, Config: []string{"maxClientCnxns=7"}})
	conf, err := FourLetterWord(context.Background(), s.Addr(), "conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tickTime=500", "maxClientCnxns=7", "minSessionTimeout=1000"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
}

func TestZkCli(t *testing.T) {
	s := StartT(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := ZkCli(ctx, s.Addr(), "create", "/fromcli", "x"); err != nil {
		t.Fatal(err)
	}
	out, err := ZkCli(ctx, s.Addr(), "ls", "/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[fromcli, zookeeper]") {
		t.Errorf("zkCli ls / = %q, want [fromcli, zookeeper] in it", out)
	}
}

func TestEnvClasspath(t *testing.T) {
	dir := t.TempDir()
	jar := dir + "/a.jar"
	if err := os.WriteFile(jar, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := envClasspath("# comment\nJAVA=/usr/bin/java\nCLASSPATH=\"" + dir + ":" + jar + ":" + dir + "/missing.jar\"\n")
	if len(got) != 1 || got[0] != jar {
		t.Errorf("envClasspath = %v, want [%s]: existing jars only", got, jar)
	}
}

// An ensemble of three is one ZooKeeper: a write through one server is
// read through another after a sync, and fires a watch set through the
// third.
func TestEnsemble(t *testing.T) {
	servers := StartEnsembleT(t, 3, Options{})
	modes := map[string]int{}
	for _, s := range servers {
		srvr, err := FourLetterWord(t.Context(), s.Addr(), "srvr")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(srvr, "\n") {
			if m, ok := strings.CutPrefix(line, "Mode: "); ok {
				modes[m]++
			}
		}
	}
	if modes["leader"] != 1 || modes["follower"] != 2 {
		t.Fatalf("modes %v, want one leader and two followers", modes)
	}
	a, b, c := connect(t, servers[0].Addr()), connect(t, servers[1].Addr()), connect(t, servers[2].Addr())
	_, _, ch, err := c.ExistsW("/e")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create("/e", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync("/e"); err != nil {
		t.Fatal(err)
	}
	if data, _, err := b.Get("/e"); err != nil || string(data) != "x" {
		t.Fatalf("get through another server: %q, %v", data, err)
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeCreated {
			t.Fatalf("event %+v, want NodeCreated", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeCreated on the third server within 10 s")
	}
}
