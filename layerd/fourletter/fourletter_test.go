package fourletter

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhitelist(t *testing.T) {
	for _, tc := range []struct {
		in        string
		allows    []string
		refuses   []string
		canonical string
	}{
		{"", []string{"srvr"}, []string{"ruok", "mntr"}, "srvr"},
		{"stat, ruok", []string{"stat", "ruok", "srvr"}, []string{"mntr", "isro"}, "ruok, srvr, stat"},
		{" mntr ,conf,, ", []string{"mntr", "conf", "srvr"}, []string{"stat"}, "conf, mntr, srvr"},
		{"*", Known, nil, "*"},
		{DefaultWhitelist, []string{"srvr", "ruok", "isro"}, []string{"mntr", "envi", "cons"}, "isro, ruok, srvr"},
	} {
		w, err := ParseWhitelist(tc.in)
		if err != nil {
			t.Fatalf("ParseWhitelist(%q): %v", tc.in, err)
		}
		for _, word := range tc.allows {
			if !w.Allows(word) {
				t.Errorf("%q refuses %s", tc.in, word)
			}
		}
		for _, word := range tc.refuses {
			if w.Allows(word) {
				t.Errorf("%q allows %s", tc.in, word)
			}
		}
		if got := w.String(); got != tc.canonical {
			t.Errorf("ParseWhitelist(%q).String() = %q, want %q", tc.in, got, tc.canonical)
		}
	}
	if _, err := ParseWhitelist("ruok, rouk"); err == nil || !strings.Contains(err.Error(), `"rouk"`) {
		t.Errorf("a misspelt word: %v, want an error naming it", err)
	}
}

// The formats, on values recorded from Debian's ZooKeeper 3.8.0 (idle
// standalone, one session with watches, then the word's own
// connection): given the same values, the same bytes.
func TestFormatsAsZooKeeper(t *testing.T) {
	var lat Latency
	for _, ms := range []int64{0, 2, 29} {
		lat.Add(time.Duration(ms) * time.Millisecond)
	}
	lat.Sum = 31 // ZooKeeper's 10.3 average: 31 over 3
	r := Report{
		Version: "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC", Mode: "standalone",
		Latency: lat, Received: 26, Sent: 26, Zxid: 4, NodeCount: 8,
		Connections: []Conn{
			{Remote: "127.0.0.1:48546", Interest: 1, Received: 10, Sent: 10, Session: &Session{
				ID: 0x10002372bb70000, LastOp: "EXIS", Established: time.UnixMilli(1796527170786), Timeout: 10000,
				LastCxid: 9, LastZxid: 4, LastResponse: 37179847, LastLatency: 2, Latency: Latency{Min: 0, Max: 29, Sum: 30, Count: 3},
			}},
			{Remote: "127.0.0.1:48596", Received: 1},
		},
	}
	if got, want := Stat(r), "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nClients:\n /127.0.0.1:48546[1](queued=0,recved=10,sent=10)\n /127.0.0.1:48596[0](queued=0,recved=1,sent=0)\n\nLatency min/avg/max: 0/10.3333/29\nReceived: 26\nSent: 26\nConnections: 2\nOutstanding: 0\nZxid: 0x4\nMode: standalone\nNode count: 8\n"; got != want {
		t.Errorf("stat:\n%q\nwant\n%q", got, want)
	}
	if got, want := Cons(r), " /127.0.0.1:48546[1](queued=0,recved=10,sent=10,sid=0x10002372bb70000,lop=EXIS,est=1796527170786,to=10000,lcxid=0x9,lzxid=0x4,lresp=37179847,llat=2,minlat=0,avglat=10,maxlat=29)\n /127.0.0.1:48596[0](queued=0,recved=1,sent=0)\n\n"; got != want {
		t.Errorf("cons:\n%q\nwant\n%q", got, want)
	}
	r.Connections = r.Connections[1:]
	r.Latency, r.Received, r.Sent, r.Zxid, r.NodeCount = Latency{}, 3, 2, 0, 5
	if got, want := Srvr(r), "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n"; got != want {
		t.Errorf("srvr:\n%q\nwant\n%q", got, want)
	}
	if got, want := Dirs(Report{DataDirSize: 457, LogDirSize: 457}), "datadir_size: 457\nlogdir_size: 457\n"; got != want {
		t.Errorf("dirs = %q, want %q", got, want)
	}
	if got, want := NotWhitelisted("mntr"), "mntr is not executed because it is not in the whitelist.\n"; got != want {
		t.Errorf("refusal = %q, want %q", got, want)
	}
	mntr := Mntr(Report{Metrics: map[string]string{"version": "v", "server_state": "standalone"}})
	if !strings.HasPrefix(mntr, "zk_version\tv\nzk_server_state\tstandalone\nzk_ephemerals_count\t0\nzk_num_alive_connections\t0\nzk_avg_latency\t0.0\n") ||
		!strings.Contains(mntr, "\nzk_last_client_response_size\t-1\n") || strings.Count(mntr, "\n") != len(MntrKeys) {
		t.Errorf("mntr starts %q…, want ZooKeeper's keys with unused values as it shows them", mntr[:200])
	}
}

// The watch listings, on what Debian's ZooKeeper 3.8.0 answered for one
// session with a data watch on /a, a child watch on /a and an exists
// watch on /zz.
func TestWatchListsAsZooKeeper(t *testing.T) {
	ws := []SessionWatches{{Session: 0x10002372bb70000, Paths: []string{"/a", "/zz"}}, {Session: 0x2}}
	if got, want := Wchs(ws), "1 connections watching 2 paths\nTotal watches:2\n"; got != want {
		t.Errorf("wchs = %q, want %q", got, want)
	}
	if got, want := Wchc(ws), "0x10002372bb70000\n\t/a\n\t/zz\n\n"; got != want {
		t.Errorf("wchc = %q, want %q", got, want)
	}
	if got, want := Wchp(ws), "/a\n\t0x10002372bb70000\n/zz\n\t0x10002372bb70000\n\n"; got != want {
		t.Errorf("wchp = %q, want %q", got, want)
	}
}

// dump, on what Debian's ZooKeeper 3.8.0 answered for one session with
// an ephemeral, while the word's own connection was open.
func TestDumpAsZooKeeper(t *testing.T) {
	at := time.Date(2026, 12, 6, 3, 19, 41, 0, time.UTC)
	got := Dump([]DumpSession{{ID: 0x10002372bb70000, Expires: at, Ephemerals: []string{"/e"}}},
		[]DumpConn{{Remote: "127.0.0.1:48546", Session: 0x10002372bb70000, Expires: at}, {Remote: "127.0.0.1:48580", Expires: at}})
	want := "SessionTracker dump:\nSession Sets (1)/(1):\n1 expire at Sun Dec 06 03:19:41 UTC 2026:\n\t0x10002372bb70000\n" +
		"ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x10002372bb70000:\n\t/e\n" +
		"Connections dump:\nConnections Sets (1)/(2):\n2 expire at Sun Dec 06 03:19:41 UTC 2026:\n\tip: /127.0.0.1:48546 sessionId: 0x10002372bb70000\n\tip: /127.0.0.1:48580 sessionId: 0x0\n"
	if got != want {
		t.Errorf("dump:\n%q\nwant\n%q", got, want)
	}
}

// gtmk and stmk, on what Debian's ZooKeeper 3.8.0 answered: its default
// mask, and the mask stmk sent, in decimal without a newline.
func TestTraceMaskAsZooKeeper(t *testing.T) {
	if got := TraceMask(DefaultTraceMask); got != "306" {
		t.Errorf("gtmk at start = %q, want 306", got)
	}
	for _, tc := range []struct {
		in   [TraceMaskLen]byte
		want string
	}{
		{[TraceMaskLen]byte{6: 0x12, 7: 0x34}, "4660"},
		{[TraceMaskLen]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "-1"},
	} {
		if got := TraceMask(DecodeTraceMask(tc.in)); got != tc.want {
			t.Errorf("stmk % x = %q, want %q", tc.in, got, tc.want)
		}
	}
}
