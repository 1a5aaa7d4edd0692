//go:build fdb

package proccluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"zkfdb/shared/keys"
)

// TestClusterServes: three hosts, each with an fdbserver and a sweeperd,
// and three layerds; FDB sees three machines in three zones and keeps two
// replicas; a write through one layerd is read through each; the
// sweeperds share every expiry shard among them.
func TestClusterServes(t *testing.T) {
	c := StartT(t, daemons(t), Options{})
	// status json is incomplete for a moment after the database is
	// created: ask until it names the machines.
	deadline := time.Now().Add(60 * time.Second)
	for {
		machines, zones, mode, err := fdbTopology(t, c)
		if err == nil && machines == 3 && zones == 3 && mode == "double" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FDB sees %d machines, %d zones, redundancy %q (%v); want 3, 3, double", machines, zones, mode, err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	w := connect(t, c.Addrs()[:1], 4*time.Second)
	if _, err := w.Create("/served", []byte("v1"), 0, open); err != nil {
		t.Fatal(err)
	}
	for _, addr := range c.Addrs() {
		r := connect(t, []string{addr}, 4*time.Second)
		if _, err := r.Sync("/served"); err != nil {
			t.Fatal(err)
		}
		got, _, err := r.Get("/served")
		if err != nil || string(got) != "v1" {
			t.Fatalf("get through %s = %q, %v; want v1", addr, got, err)
		}
	}
	awaitShards(t, c, c.Sweepers)

	// Each sweeperd owns the shards whose index has a replica on its own
	// host (FDB's locality API): every shard owned is local, and so is
	// every sweep read.
	deadline = time.Now().Add(60 * time.Second)
	for {
		var local, reads, readsLocal float64
		var report []string
		for _, p := range c.Sweepers {
			owned, _ := metric(p, "sweeper_shards_owned")
			ownedLocal, _ := metric(p, "sweeper_shards_owned_local")
			read, _ := metric(p, "sweeper_shards_read_total")
			readLocal, _ := metric(p, "sweeper_shards_read_local_total")
			local += ownedLocal
			reads += read
			readsLocal += readLocal
			report = append(report, fmt.Sprintf("%s owns %v shards, %v local; read %v, %v local", p.Name, owned, ownedLocal, read, readLocal))
		}
		if local == keys.Shards && reads > 0 {
			t.Logf("locality: %s; %.0f%% of sweep reads local", strings.Join(report, "; "), 100*readsLocal/reads)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s, %v of %d shards are owned by a sweeperd on a host with a replica: %s", local, keys.Shards, strings.Join(report, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fdbStatus is what the tests read of FDB's status json.
type fdbStatus struct {
	Cluster struct {
		Machines  map[string]json.RawMessage `json:"machines"`
		Processes map[string]struct {
			Address  string            `json:"address"`
			Locality map[string]string `json:"locality"`
			Roles    []struct {
				Role string `json:"role"`
			} `json:"roles"`
		} `json:"processes"`
		Configuration struct {
			RedundancyMode string `json:"redundancy_mode"`
		} `json:"configuration"`
	} `json:"cluster"`
}

// readStatus runs fdbcli's status json.
func readStatus(t testing.TB, c *Cluster) (fdbStatus, error) {
	var status fdbStatus
	out, err := c.CLI(t.Context(), "status json")
	if err != nil {
		return status, fmt.Errorf("status json: %v: %s", err, out)
	}
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return status, fmt.Errorf("status json: %s", out)
	}
	if err := json.Unmarshal([]byte(out[i:]), &status); err != nil {
		return status, fmt.Errorf("status json: %v", err)
	}
	return status, nil
}

// fdbTopology reads from status json how many machines and zones FDB
// sees and its redundancy mode.
func fdbTopology(t testing.TB, c *Cluster) (machines, zones int, mode string, err error) {
	status, err := readStatus(t, c)
	if err != nil {
		return 0, 0, "", err
	}
	zoneSet := map[string]bool{}
	for _, p := range status.Cluster.Processes {
		zoneSet[p.Locality["zoneid"]] = true
	}
	return len(status.Cluster.Machines), len(zoneSet), status.Cluster.Configuration.RedundancyMode, nil
}

// fdbRoles returns, by process address, the roles FDB gives it (status
// json), such as commit_proxy, log, storage.
func fdbRoles(t testing.TB, c *Cluster) (map[string][]string, error) {
	status, err := readStatus(t, c)
	if err != nil {
		return nil, err
	}
	roles := map[string][]string{}
	for _, p := range status.Cluster.Processes {
		for _, r := range p.Roles {
			roles[p.Address] = append(roles[p.Address], r.Role)
		}
	}
	return roles, nil
}
