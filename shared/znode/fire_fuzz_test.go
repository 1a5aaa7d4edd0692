package znode

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzDecodeEvent: an event record is read or refused with errBadEvent,
// never a panic. What is read encodes back to the bytes it was read from
// (less bytes after the path), so no byte of it is misread (the flag that
// says whether the connection's READ permission is checked included), and
// every cut of that encoding is refused.
func FuzzDecodeEvent(f *testing.F) {
	seeds := []struct {
		conn int64
		e    Event
	}{
		{1, Event{Type: EventNodeCreated, Path: "/a", acl: OpenACLUnsafe, checked: true}},
		{-7, Event{Type: EventNodeDeleted, Path: "/a/b-0000000001", checked: true, acl: []ACL{
			{PermRead | PermWrite, ID{"digest", DigestID("user:secret")}},
			{PermAdmin, ID{"ip", "10.0.0.0/8"}},
		}}},
		{math.MinInt64, Event{Type: EventNodeDataChanged, Path: "/\u00e9/\x00"}}, // setWatches': unchecked, no ACL
		{math.MaxInt64, Event{Type: EventNodeChildrenChanged, Path: "/", acl: ReadACLUnsafe, checked: true}},
		{0, Event{}},
	}
	for _, s := range seeds {
		b := encodeEvent(s.conn, s.e)
		conn, e, err := decodeEvent(b)
		if err != nil || conn != s.conn || !reflect.DeepEqual(e, s.e) {
			f.Fatalf("decodeEvent(encodeEvent(%d, %+v)) = %d, %+v, %v", s.conn, s.e, conn, e, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		conn, e, err := decodeEvent(b)
		if err != nil {
			if !errors.Is(err, errBadEvent) || conn != 0 || !reflect.DeepEqual(e, Event{}) {
				t.Fatalf("decodeEvent(% x) = %d, %+v, %v; want errBadEvent alone", b, conn, e, err)
			}
			return
		}
		enc := encodeEvent(conn, e)
		if len(enc) > len(b) || !bytes.Equal(enc, b[:len(enc)]) {
			t.Fatalf("decodeEvent(% x) = %d, %+v, which encodes to % x", b, conn, e, enc)
		}
		if conn2, e2, err := decodeEvent(enc); err != nil || conn2 != conn || !reflect.DeepEqual(e2, e) {
			t.Fatalf("decodeEvent(% x) = %d, %+v, %v; want %d, %+v", enc, conn2, e2, err, conn, e)
		}
		refusesCuts(t, enc, func(b []byte) error { _, _, err := decodeEvent(b); return err })
	})
}
