package difftest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"zkfdb/internal/engines"
	"zkfdb/internal/zkref"
	"zkfdb/layerd/adminserver"
	"zkfdb/layerd/zkserver"
	"zkfdb/layerd/zkserver/zkservertest"
	"zkfdb/shared/telemetry"
)

// TestAdminServer asks Debian's ZooKeeper's AdminServer and layerd's
// every command layerd answers, by every name, each server with one
// session holding watches and an ephemeral, and compares the JSON: the
// same fields, nested alike, with values of the same JSON types (the
// values are each server's own), and the same error. system_properties
// lists each process's own properties: the values are strings on both,
// and the common ones are on both. An unknown command gets the same
// error from both, and /commands lists the same commands.
//
// ZooKeeper is Debian's 3.8.0; layerd answers 3.9's commands. 3.9 adds
// snapshot and restore, which 3.8.0 answers as unknown commands: for
// those the test checks that it does, and compares nothing.
func TestAdminServer(t *testing.T) {
	engines.Each(t, func(t *testing.T, e engines.Engine) {
		opts := refOptions
		opts.AdminServer = true
		ref := zkref.StartT(t, opts)
		addr, l := zkservertest.StartLayer(t, e, zkserver.Config{ExtendedTypes: true})
		admin := telemetry.NewServer(prometheus.NewRegistry(), nil, zaptest.NewLogger(t))
		adminserver.Register(admin, l.Server())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go admin.Serve(ln)
		t.Cleanup(func() { admin.Shutdown(t.Context()) })
		for _, a := range []string{ref.Addr(), addr} {
			holdSession(t, a)
		}
		only39 := []string{"restore", "rest", "snapshot", "snap"}
		names := slices.Concat(adminserver.Names(), adminserver.Aliases(), []string{"bogus", "set_trace_mask?traceMask=12", "gtmk"})
		for _, name := range names {
			want, got := adminJSON(t, ref.AdminAddr(), name), adminJSON(t, ln.Addr().String(), name)
			if slices.Contains(only39, name) {
				if want["error"] != "Unknown command: "+name {
					t.Errorf("/commands/%s: ZooKeeper 3.8.0 answers %v; the test expects 3.8.0 not to know it", name, want)
				}
				continue
			}
			if fmt.Sprint(got["error"]) != fmt.Sprint(want["error"]) {
				t.Errorf("/commands/%s: error: layerd %v, ZooKeeper %v", name, got["error"], want["error"])
			}
			if name == "system_properties" || name == "sysp" {
				compareProperties(t, want, got)
				continue
			}
			if w, g := jsonShape(want), jsonShape(got); !slices.Equal(g, w) {
				t.Errorf("/commands/%s: layerd's fields\n%q\nZooKeeper's\n%q", name, g, w)
			}
			if name == "gtmk" && got["tracemask"] != want["tracemask"] {
				t.Errorf("trace mask after set_trace_mask: layerd %v, ZooKeeper %v", got["tracemask"], want["tracemask"])
			}
		}
		want, got := commandList(t, ref.AdminAddr()), commandList(t, ln.Addr().String())
		if want = slices.Sorted(slices.Values(append(want, "restore", "snapshot"))); !slices.Equal(got, want) {
			t.Errorf("/commands: layerd lists %q, ZooKeeper (with 3.9's restore and snapshot) %q", got, want)
		}
	})
}

// compareProperties checks that system_properties's values are strings
// on both servers, and that the properties both processes have (the
// separators, the JVM's description that layerd gives of the Go
// runtime, and ZooKeeper's settings the test gives both) are on both.
func compareProperties(t *testing.T, want, got map[string]any) {
	t.Helper()
	for _, m := range []map[string]any{want, got} {
		for k, v := range m {
			if _, ok := v.(string); !ok && k != "error" {
				t.Errorf("system_properties: %s = %v, want a string", k, v)
			}
		}
	}
	for _, k := range []string{"file.separator", "line.separator", "path.separator", "java.version", "java.vendor",
		"java.class.path", "java.io.tmpdir", "os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir",
		"zookeeper.4lw.commands.whitelist", "zookeeper.extendedTypesEnabled"} {
		if _, ok := want[k]; !ok {
			t.Errorf("system_properties: ZooKeeper has no %s", k)
		}
		if _, ok := got[k]; !ok {
			t.Errorf("system_properties: layerd has no %s", k)
		}
	}
}

// commandList reads the commands /commands links to.
func commandList(t *testing.T, addr string) []string {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/commands")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range commandLink.FindAllStringSubmatch(string(body), -1) {
		out = append(out, m[1])
	}
	return out
}

var commandLink = regexp.MustCompile(`<a href="/commands/([a-z_]+)">`)

func adminJSON(t *testing.T, addr, name string) map[string]any {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/commands/" + name)
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
		t.Fatalf("/commands/%s from %s: %v: %q", name, addr, err, body)
	}
	return out
}

// jsonShape lists v's fields as paths with their JSON types, sorted. The
// keys of maps keyed by session ids (which differ between servers) are
// replaced by "<id>"; per-namespace summaries, which ZooKeeper adds once a
// namespace is written, are left out; the elements of an array show as
// "[]"; each path and kind is listed once.
func jsonShape(v any) []string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out = append(out, prefix+":object")
			for k, e := range x {
				if strings.HasSuffix(k, "_per_namespace") {
					continue
				}
				if _, err := strconv.ParseInt(k, 10, 64); err == nil {
					k = "<id>"
				}
				walk(prefix+"."+k, e)
			}
		case []any:
			out = append(out, prefix+":array")
			for _, e := range x {
				walk(prefix+"[]", e)
			}
		case string:
			out = append(out, prefix+":string")
		case float64:
			out = append(out, prefix+":number")
		case bool:
			out = append(out, prefix+":bool")
		case nil:
			out = append(out, prefix+":null")
		}
	}
	walk("", v)
	sort.Strings(out)
	// A set: how many of a field there are is not its shape (ZooKeeper's
	// dump lists one expiry bucket or two, as the test's sessions fall
	// on either side of a bucket's edge).
	return slices.Compact(out)
}
