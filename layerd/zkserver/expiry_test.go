package zkserver

import (
	"errors"
	"os"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/layerd/zkwire"
)

// TestSessionMoved: once a session is resumed through another connection,
// the old one gets no answer to a write and is closed (ZooKeeper's
// SESSIONMOVED), on another layerd or on the same one.
func TestSessionMoved(t *testing.T) { engines.Each(t, testSessionMoved) }

func testSessionMoved(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	addrA, _ := serveOn(t, st)
	addrB, _ := serveOn(t, st)
	open := []zkwire.ACL{{Perms: 31, Scheme: "world", ID: "anyone"}}

	old, resp := dialRaw(t, addrA, zkwire.ConnectRequest{})
	old.send(old.request(1, &zkwire.Create{Path: "/m", ACL: open}))
	if h, _, err := old.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("create: %+v, %v", h, err)
	}
	moved, resp2 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd})
	if resp2.SessionID != resp.SessionID {
		t.Fatalf("resume on B: %+v", resp2)
	}
	// The old connection, on the other layerd, is closed at once, before
	// it sends anything.
	if h, _, err := old.reply(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the old connection after the session moved: %+v, %v; want it closed", h, err)
	}
	moved.send(moved.request(2, &zkwire.GetData{Path: "/m"}))
	_, body, err := moved.reply()
	var got zkwire.GetDataResponse
	if err != nil || zkwire.Decode(body, &got) != nil || len(got.Data) != 0 {
		t.Fatalf("through the new connection: %q, %v; want the write through the old one not applied", got.Data, err)
	}

	// On one server: the old connection is closed at once.
	again, resp3 := dialRaw(t, addrB, zkwire.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd})
	if resp3.SessionID != resp.SessionID {
		t.Fatalf("second resume: %+v", resp3)
	}
	if _, _, err := moved.reply(); err == nil {
		t.Fatal("the session's previous connection on the same server is still open")
	}
	again.send(again.request(3, &zkwire.Exists{Path: "/m"}))
	if h, _, err := again.reply(); err != nil || h.Err != zkwire.CodeOK {
		t.Fatalf("exists through the newest connection: %+v, %v", h, err)
	}
}
