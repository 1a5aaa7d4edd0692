package difftest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
// every command layerd answers, each server with one session holding
// watches, and compares the JSON: the same fields, nested alike, with
// values of the same JSON types (the values are each server's own). An
// unknown command gets the same error from both.
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
		for _, name := range append(adminserver.Names(), "srvr", "bogus") {
			want, got := adminJSON(t, ref.AdminAddr(), name), adminJSON(t, ln.Addr().String(), name)
			if w, g := jsonShape(want), jsonShape(got); !slices.Equal(g, w) {
				t.Errorf("/commands/%s: layerd's fields\n%q\nZooKeeper's\n%q", name, g, w)
			}
			if name == "bogus" && fmt.Sprint(got["error"]) != fmt.Sprint(want["error"]) {
				t.Errorf("unknown command: layerd %v, ZooKeeper %v", got["error"], want["error"])
			}
		}
	})
}

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
// one "[]" each.
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
	return out
}
