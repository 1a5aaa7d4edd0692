//go:build fdb

package proccluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestClientVanishesDuringMulti: clients that die (no closeSession, the
// socket closed) while a multi is in flight, at random moments from
// before it leaves (a quarter of them) to after it is answered. Each multi creates two
// persistent nodes and an ephemeral one: afterwards both persistent
// nodes exist or neither (a multi applies whole or not at all), and every
// ephemeral is gone within the clients' timeout + 2 ticks of their death.
func TestClientVanishesDuringMulti(t *testing.T) {
	const clients = 16
	c := StartT(t, daemons(t), Options{})
	db, root := openStore(t, c)
	admin := connect(t, c.Addrs(), holderTimeout)
	if _, err := admin.Create("/mv", nil, 0, open); err != nil {
		t.Fatal(err)
	}
	dying := make([]*client, clients)
	for i := range dying {
		dying[i] = connect(t, c.Addrs(), dyingTimeout)
	}
	var wg sync.WaitGroup
	answered := make([]error, clients)
	for i, cl := range dying {
		if i%4 == 0 {
			cl.die() // dead before its multi leaves
		}
		wg.Go(func() {
			_, err := cl.Multi(
				&zk.CreateRequest{Path: fmt.Sprintf("/mv/%d-a", i), Data: []byte("a"), Acl: open},
				&zk.CreateRequest{Path: fmt.Sprintf("/mv/%d-b", i), Data: []byte("b"), Acl: open},
				&zk.CreateRequest{Path: fmt.Sprintf("/mv/%d-eph", i), Acl: open, Flags: zk.FlagEphemeral},
			)
			answered[i] = err
		})
		go func() {
			time.Sleep(time.Duration(rand.IntN(20000)) * time.Microsecond)
			cl.die()
		}()
	}
	wg.Wait()
	// Dead from here: every multi has returned, each with its connection
	// closed. (A multi that reached its layerd refreshed its session, so
	// the timeout counts from it, not from the first death.)
	diedAt := now(t, db, root)

	// Every ephemeral goes: wait on a child watch of /mv until none is
	// left.
	deadline := time.After(60 * time.Second)
	var children []string
	for {
		var ch <-chan zk.Event
		var err error
		children, _, ch, err = admin.ChildrenW("/mv")
		if err != nil {
			t.Fatal(err)
		}
		ephemerals := 0
		for _, name := range children {
			if strings.HasSuffix(name, "-eph") {
				ephemerals++
			}
		}
		if ephemerals == 0 {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d ephemerals of dead clients still there after 60 s: %v", ephemerals, children)
		}
	}
	ticks := now(t, db, root) - diedAt
	if limit := int64(dyingTimeout/time.Second) + 2; ticks > limit {
		t.Errorf("the dead clients' ephemerals went %d ticks after they died; want at most the timeout + 2 = %d", ticks, limit)
	}
	applied, acked := 0, 0
	for i := range clients {
		a := fmt.Sprintf("%d-a", i)
		b := fmt.Sprintf("%d-b", i)
		hasA, hasB := slices.Contains(children, a), slices.Contains(children, b)
		if hasA != hasB {
			t.Errorf("multi %d applied in part: %s %v, %s %v", i, a, hasA, b, hasB)
		}
		if answered[i] == nil {
			acked++
			if !hasA {
				t.Errorf("multi %d was acknowledged but its nodes are missing", i)
			}
		}
		if hasA {
			applied++
		}
	}
	t.Logf("%d multis: %d applied, %d acknowledged; the ephemerals went %d ticks after the clients died", clients, applied, acked, ticks)
}
