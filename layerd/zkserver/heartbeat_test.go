package zkserver

import (
	"context"
	"testing"
	"time"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
	"zkfdb/shared/clock"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// TestRefreshCountsFromTheRequestsTick: a heartbeat counts a session's
// timeout from the tick its last request arrived in where the request's
// transactions tell it (their read versions against the clock's stamp)
// or a read version fetched after it (a ping, dated), and from the tick
// it reads itself where it cannot tell: a ping not yet dated, or a clock
// moved by a participant that records no stamp. Never from an earlier
// tick than the request's.
func TestRefreshCountsFromTheRequestsTick(t *testing.T) {
	engines.Each(t, testRefreshCountsFromTheRequestsTick)
}

func testRefreshCountsFromTheRequestsTick(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	ten := st.Root.Tenant(keys.DefaultTenant)
	srv, tree, addr, served := serveWithoutHeartbeats(t, st)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Kill(ctx); err != nil {
			t.Error(err)
		}
		<-served
	})

	// The clock is moved by hand (no ticker and no heartbeat loop run
	// here), as a ticker moves it, with its stamp or, as one that records
	// none, without.
	setTick := func(tick int64, stamped bool) {
		t.Helper()
		stampKey := st.Root.ClockStamp()
		if !stamped {
			stampKey = nil
		}
		if _, err := store.Transact(t.Context(), st.DB, func(tx store.Tx) (struct{}, error) {
			clock.WriteTick(tx, st.Root.Clock(), stampKey, tick)
			return struct{}{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setTick(100, true)
	raw, resp := dialRaw(t, addr, zkwire.ConnectRequest{TimeOut: 4000})
	ticks := tree.TimeoutTicks(resp.TimeOut)
	expiry := func() int64 {
		t.Helper()
		b, err := store.ReadTransact(t.Context(), st.DB, func(r store.Reader) ([]byte, error) {
			return r.Get(ten.SessionExpiry(resp.SessionID)).Get()
		})
		if err != nil {
			t.Fatal(err)
		}
		v, err := keys.DecodeInt64(b)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	xid := int32(0)
	exists := func() {
		t.Helper()
		xid++
		raw.send(raw.request(xid, &zkwire.Exists{Path: "/"}))
		if h, _, err := raw.reply(); err != nil || h.Err != zkwire.CodeOK {
			t.Fatalf("exists: %+v, %v", h, err)
		}
	}
	ping := func() {
		t.Helper()
		raw.send(zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: zkwire.XidPing, Type: zkwire.OpPing}, nil))
		if h, _, err := raw.reply(); err != nil || h.Xid != zkwire.XidPing {
			t.Fatalf("ping: %+v, %v", h, err)
		}
	}
	heartbeat := func(want int64, why string) {
		t.Helper()
		if err := srv.heartbeat(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := expiry(); got != want {
			t.Errorf("%s: expiry tick %d, want %d", why, got, want)
		}
	}

	if got := expiry(); got != 100+ticks {
		t.Fatalf("session created at tick 100 with %d ticks: expiry %d", ticks, got)
	}
	exists()
	setTick(101, true)
	heartbeat(100+ticks, "a request of tick 100, refreshed at 101")
	exists()
	heartbeat(101+ticks, "a request of tick 101")
	ping()
	setTick(102, true)
	heartbeat(102+ticks, "a ping of tick 101, refreshed at 102: its tick is not known")
	exists()
	setTick(103, false)
	heartbeat(103+ticks, "a request of tick 102, refreshed at 103 written without a stamp")
	exists()
	setTick(104, true)
	setTick(105, true)
	heartbeat(104+ticks, "a request of tick 103, refreshed two ticks later")

	// A ping dated (a read version fetched after it) counts from its
	// tick; dated after the clock moved on, from the later tick.
	ping()
	srv.date(t.Context())
	setTick(106, true)
	heartbeat(105+ticks, "a ping of tick 105, dated in it")
	ping()
	setTick(107, true)
	srv.date(t.Context())
	heartbeat(107+ticks, "a ping of tick 106, dated in tick 107")
}
