package difftest

import (
	"flag"
	"os"
	"strings"
	"testing"

	"zkfdb/internal/zkref"
)

var (
	show    = flag.Bool("show", false, "log the reference transcript of every case")
	runOnly = flag.String("case", "", "run only the cases whose name has this prefix")
)

func TestMain(m *testing.M) {
	flag.Parse()
	ShowTranscripts = *show
	os.Exit(m.Run())
}

// refOptions configure the ZooKeeper servers of the differential tests:
// TTL nodes on, and the container/TTL reaper every second instead of every
// minute so that AwaitGone is quick.
var refOptions = zkref.Options{
	Properties: map[string]string{
		"zookeeper.extendedTypesEnabled":  "true",
		"znode.container.checkIntervalMs": "1000",
	},
}

// TestZooKeeperVsZooKeeper runs every case against two independent
// ZooKeeper servers: identical transcripts prove that the normalization
// keeps only what two correct servers agree on.
func TestZooKeeperVsZooKeeper(t *testing.T) {
	a := zkref.StartT(t, refOptions)
	b := zkref.StartT(t, refOptions)
	if *runOnly == "" {
		Compare(t, a.Addr(), b.Addr())
		return
	}
	var cases []Case
	for _, c := range Cases() {
		if strings.HasPrefix(c.Name, *runOnly) {
			cases = append(cases, c)
		}
	}
	CompareCases(t, a.Addr(), b.Addr(), cases)
}
