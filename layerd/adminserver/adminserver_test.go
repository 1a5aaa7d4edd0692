package adminserver

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/layerd/fourletter"
	"zkfdb/shared/telemetry"
)

// source is a Source with fixed values. A fake, at this narrow seam,
// because these tests are about the HTTP side: names, arguments, errors,
// status codes. The differential test runs the commands on a real
// server against ZooKeeper's.
type source struct {
	mu   sync.Mutex
	mask int64
}

func (*source) Report() fourletter.Report                        { return fourletter.Report{Mode: "standalone"} }
func (*source) WatchLists() ([]fourletter.SessionWatches, error) { return nil, nil }
func (*source) ResetServerStats()                                {}
func (*source) ResetConnStats()                                  {}
func (s *source) TraceMask() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}
func (s *source) SetTraceMask(m int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mask = m
}
func (*source) SessionDump() (map[int64][]int64, map[int64][]string, error) {
	return map[int64][]int64{48416000: {72060766304141312}}, map[int64][]string{72060766304141312: {"/held"}}, nil
}
func (*source) SystemProperties() map[string]string { return map[string]string{"os.name": "Linux"} }
func (*source) InitialConfiguration() string        { return "tickTime=2000\n" }

// serve starts an AdminServer on src and returns its address.
func serve(t *testing.T, src Source) string {
	t.Helper()
	srv := telemetry.NewServer(prometheus.NewRegistry(), nil, zaptest.NewLogger(t))
	Register(srv, src)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Shutdown(t.Context()); <-done })
	return ln.Addr().String()
}

// get answers method /commands/path: the status and the JSON.
func get(t *testing.T, method, addr, path string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+"/commands/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: %v: %q", method, path, err, body)
	}
	return resp.StatusCode, out
}

// Every name and alias of ZooKeeper 3.9's commands answers, as the
// command's primary name; /commands lists the primary names, sorted,
// as ZooKeeper does.
func TestCommandsAsZooKeeper(t *testing.T) {
	addr := serve(t, &source{})
	zk39 := map[string][]string{
		"configuration": {"conf", "config"}, "connection_stat_reset": {"crst"}, "connections": {"cons"},
		"dirs": nil, "dump": nil, "environment": {"env", "envi"}, "get_trace_mask": {"gtmk"}, "hash": nil,
		"initial_configuration": {"icfg"}, "is_read_only": {"isro"}, "last_snapshot": {"lsnp"},
		"leader": {"lead"}, "monitor": {"mntr"}, "observer_connection_stat_reset": {"orst"},
		"observers": {"obsr"}, "restore": {"rest"}, "ruok": nil, "server_stats": {"srvr"},
		"set_trace_mask": {"stmk"}, "snapshot": {"snap"}, "stat_reset": {"srst"}, "stats": {"stat"},
		"system_properties": {"sysp"}, "voting_view": nil, "watch_summary": {"wchs"}, "watches": {"wchc"},
		"watches_by_path": {"wchp"}, "zabstate": nil,
	}
	var names []string
	for name, aliases := range zk39 {
		names = append(names, name)
		for _, n := range append([]string{name}, aliases...) {
			if _, out := get(t, "GET", addr, n); out["command"] != name {
				t.Errorf("/commands/%s answers as %v, want %s", n, out["command"], name)
			}
		}
	}
	slices.Sort(names)
	if got := Names(); !slices.Equal(got, names) {
		t.Errorf("Names() = %q, want ZooKeeper 3.9's %q", got, names)
	}
	resp, err := http.Get("http://" + addr + "/commands")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var listed []string
	for _, l := range strings.Split(string(body), "\n") {
		if name, ok := strings.CutPrefix(l, `<a href="/commands/`); ok {
			listed = append(listed, name[:strings.Index(name, `"`)])
		}
	}
	if !slices.Equal(listed, names) {
		t.Errorf("/commands lists %q, want %q", listed, names)
	}
	if _, out := get(t, "GET", addr, "bogus"); out["command"] != "bogus" || out["error"] != "Unknown command: bogus" {
		t.Errorf("unknown command: %v", out)
	}
}

// set_trace_mask takes traceMask with ZooKeeper's errors; get_trace_mask
// shows what it set.
func TestTraceMask(t *testing.T) {
	src := &source{mask: fourletter.DefaultTraceMask}
	addr := serve(t, src)
	for _, tc := range []struct {
		path, err string
		mask      float64 // what get_trace_mask shows after
	}{
		{"get_trace_mask", "", 306},
		{"set_trace_mask", "setTraceMask requires long traceMask argument", 306},
		{"stmk?traceMask=x", "setTraceMask requires long traceMask argument, got x", 306},
		{"stmk?traceMask=12", "", 12},
		{"set_trace_mask?traceMask=-1", "", -1},
	} {
		_, out := get(t, "GET", addr, tc.path)
		if tc.err != "" && out["error"] != tc.err || tc.err == "" && out["error"] != nil {
			t.Errorf("%s: error %v, want %q", tc.path, out["error"], tc.err)
		}
		if tc.err == "" && out["tracemask"] != tc.mask {
			t.Errorf("%s: tracemask %v, want %v", tc.path, out["tracemask"], tc.mask)
		}
		if tc.err != "" && len(out) != 2 {
			t.Errorf("%s: %v, want command and error alone, as ZooKeeper", tc.path, out)
		}
		if _, g := get(t, "GET", addr, "gtmk"); g["tracemask"] != tc.mask {
			t.Errorf("after %s: gtmk %v, want %v", tc.path, g["tracemask"], tc.mask)
		}
	}
}

// The commands about a quorum, snapshots and digests answer as a
// standalone ZooKeeper does (recorded from Debian's 3.8.0; snapshot and
// restore as 3.9 with them disabled).
func TestStandaloneAnswers(t *testing.T) {
	addr := serve(t, &source{})
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "leader", 200, `{"command":"leader","error":"server is not initialized"}`},
		{"GET", "last_snapshot", 200, `{"command":"last_snapshot","error":null,"timestamp":-1,"zxid":"ffffffffffffffff"}`},
		{"GET", "observers", 200, `{"command":"observers","error":null,"observers":[],"synced_observers":0}`},
		{"GET", "orst", 200, `{"command":"observer_connection_stat_reset","error":null}`},
		{"GET", "voting_view", 200, `{"command":"voting_view","current_config":{},"error":null}`},
		{"GET", "zabstate", 200, `{"command":"zabstate","error":null,"voting":false,"zabstate":""}`},
		{"GET", "hash", 200, `{"command":"hash","digests":[],"error":null}`},
		{"GET", "snapshot", 503, `{"command":"snapshot","error":null}`},
		{"POST", "restore", 503, `{"command":"restore","error":null}`},
		{"GET", "icfg", 200, `{"command":"initial_configuration","error":null,"initial_configuration":"tickTime=2000\n"}`},
		{"GET", "sysp", 200, `{"command":"system_properties","error":null,"os.name":"Linux"}`},
		{"GET", "dump", 200, `{"command":"dump","error":null,"expiry_time_to_session_ids":{"48416000":[72060766304141312]},"session_id_to_ephemeral_paths":{"72060766304141312":["/held"]}}`},
	} {
		status, out := get(t, tc.method, addr, tc.path)
		got, _ := json.Marshal(out)
		var want map[string]any
		json.Unmarshal([]byte(tc.want), &want)
		canonical, _ := json.Marshal(want)
		if status != tc.status || string(got) != string(canonical) {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, status, got, tc.status, canonical)
		}
	}
}
