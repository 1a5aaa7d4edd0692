package zkwire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var (
	testStat = Stat{
		Czxid: 0x0102030405060708, Mzxid: 2, Ctime: 1700000000000, Mtime: 1700000000001,
		Version: 3, Cversion: -1, Aversion: 5, EphemeralOwner: -0x100000000000000,
		DataLength: 6, NumChildren: 7, Pzxid: 8,
	}
	testACL   = []ACL{{PermAll, "world", "anyone"}, {PermRead | PermAdmin, "digest", "user:smGaoVKd/cQkjm7b88GyorAUz20="}}
	testPass  = []byte("0123456789abcdef")
	emptyData = []byte{}
)

// testRequests holds at least one value of every request type, with nil
// and empty variants of nullable fields.
func testRequests() []Request {
	return []Request{
		&Create{Path: "/a", Data: []byte("hi"), ACL: testACL, Flags: FlagEphemeralSequential},
		&Create{Path: "/nil", Data: nil, ACL: nil, Flags: 0},
		&Create{Path: "", Data: emptyData, ACL: []ACL{}, Flags: -1},
		&Create2{Path: "/b", Data: []byte{0, 1, 2}, ACL: testACL[:1], Flags: FlagContainer},
		&CreateContainer{Path: "/c", Data: nil, ACL: testACL, Flags: FlagContainer},
		&CreateTTL{Path: "/t", Data: []byte("x"), ACL: testACL, Flags: FlagPersistentWithTTL, TTL: 0xFFFFFFFFFF},
		&Delete{Path: "/a", Version: -1},
		&Exists{Path: "/e", Watch: true},
		&GetData{Path: "/g", Watch: false},
		&SetData{Path: "/s", Data: []byte("new"), Version: 42},
		&SetData{Path: "/s", Data: nil, Version: -1},
		&GetACL{Path: "/acl"},
		&SetACL{Path: "/acl", ACL: testACL, Version: 0},
		&GetChildren{Path: "/", Watch: true},
		&Sync{Path: "/sync"},
		&Ping{},
		&GetChildren2{Path: "/zookeeper", Watch: false},
		&Multi{Ops: []Request{
			&Create{Path: "/m", Data: []byte("1"), ACL: testACL, Flags: 0},
			&Create2{Path: "/m/2", ACL: testACL},
			&CreateContainer{Path: "/m/c", ACL: testACL, Flags: FlagContainer},
			&CreateTTL{Path: "/m/t", ACL: testACL, Flags: FlagPersistentWithTTL, TTL: 1000},
			&SetData{Path: "/m", Data: emptyData, Version: 0},
			&Check{Path: "/m", Version: 1},
			&Delete{Path: "/m/2", Version: -1},
		}},
		&Multi{},
		&Reconfig{JoiningServers: "server.1=a:2888:3888", LeavingServers: "2", NewMembers: "", CurConfigID: -1},
		&CheckWatches{Path: "/w", Type: WatcherAny},
		&RemoveWatches{Path: "/w", Type: WatcherData},
		&DeleteContainer{Path: "/c"},
		&MultiRead{Ops: []Request{&GetData{Path: "/a", Watch: true}, &GetChildren{Path: "/"}}},
		&MultiRead{},
		&Auth{Type: 0, Scheme: "digest", Auth: []byte("user:pass")},
		&Auth{Scheme: "x", Auth: nil},
		&SetWatches{RelativeZxid: 99, Data: []string{"/a", "/b"}, Exist: []string{}, Child: nil},
		&SASL{Token: []byte{1, 2, 3}},
		&GetEphemerals{PrefixPath: "/r"},
		&GetAllChildrenNumber{Path: "/"},
		&SetWatches2{RelativeZxid: -1, Data: []string{"/d"}, Exist: []string{"/e"}, Child: []string{"/c"},
			Persistent: []string{"/p", ""}, PersistentRecursive: nil},
		&AddWatch{Path: "/aw", Mode: AddWatchPersistentRecursive},
		&WhoAmI{},
		&CloseSession{},
	}
}

func TestRequestRoundTrip(t *testing.T) {
	seen := map[OpCode]bool{}
	for _, req := range testRequests() {
		op := req.Opcode()
		seen[op] = true
		b := req.AppendJute(nil)
		got, err := DecodeRequest(op, b)
		if err != nil {
			t.Fatalf("DecodeRequest(%s, %x): %v", op, b, err)
		}
		if !reflect.DeepEqual(got, req) {
			t.Errorf("%s: decoded %#v, want %#v", op, got, req)
		}
		if b2 := got.AppendJute(nil); !bytes.Equal(b2, b) {
			t.Errorf("%s: re-encoded %x, want %x", op, b2, b)
		}
		// ZooKeeper ignores bytes after the record.
		if got, err := DecodeRequest(op, append(b, 0xde, 0xad)); err != nil || !reflect.DeepEqual(got, req) {
			t.Errorf("%s with trailing bytes: %#v, %v", op, got, err)
		}
		// The same bytes through a frame.
		frame := AppendRequest(nil, RequestHeader{Xid: 7, Type: op}, req)
		payload, err := ReadFrame(bytes.NewReader(frame), 0)
		if err != nil {
			t.Fatal(err)
		}
		h, body, err := DecodeRequestHeader(payload)
		if err != nil || h != (RequestHeader{7, op}) || !bytes.Equal(body, b) {
			t.Errorf("%s frame: header %+v body %x err %v", op, h, body, err)
		}
	}
	for op := range opNames {
		if newRequest(op) != nil && !seen[op] {
			t.Errorf("no round-trip case for %s", op)
		}
	}
}

func TestRequestTruncated(t *testing.T) {
	for _, req := range testRequests() {
		b := req.AppendJute(nil)
		for n := range len(b) {
			_, err := DecodeRequest(req.Opcode(), b[:n])
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeRequest(%s, %d of %d bytes) = %v, want ErrMalformed", req.Opcode(), n, len(b), err)
			}
		}
	}
}

func TestRequestEncoding(t *testing.T) {
	// Hand-made from zookeeper.jute: GetDataRequest{ustring path, boolean watch}.
	got := (&GetData{Path: "/ab", Watch: true}).AppendJute(nil)
	if want := []byte{0, 0, 0, 3, '/', 'a', 'b', 1}; !bytes.Equal(got, want) {
		t.Errorf("GetData = %x, want %x", got, want)
	}
	// Nil data is a buffer of length −1, empty data of length 0.
	got = (&SetData{Path: "/", Data: nil, Version: -1}).AppendJute(nil)
	if want := []byte{0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; !bytes.Equal(got, want) {
		t.Errorf("SetData nil = %x, want %x", got, want)
	}
	got = (&SetData{Path: "/", Data: []byte{}, Version: 0}).AppendJute(nil)
	if want := []byte{0, 0, 0, 1, '/', 0, 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("SetData empty = %x, want %x", got, want)
	}
	// An empty multi is just the terminator {−1, true, −1}.
	got = (&Multi{}).AppendJute(nil)
	if want := []byte{0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff}; !bytes.Equal(got, want) {
		t.Errorf("empty Multi = %x, want %x", got, want)
	}
}

func TestDecodeRequestUnknownOpcode(t *testing.T) {
	for _, op := range []OpCode{OpNotification, OpError, OpCreateSession, OpCheck, 10, 23, 99, 108, -12, 1 << 30} {
		if _, err := DecodeRequest(op, nil); !errors.Is(err, ErrUnknownOpcode) {
			t.Errorf("DecodeRequest(%s) = %v, want ErrUnknownOpcode", op, err)
		}
	}
}

func TestDecodeBadLengths(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   OpCode
		body []byte
	}{
		{"negative path length", OpGetData, []byte{0xff, 0xff, 0xff, 0xfe, 0}},
		{"path longer than body", OpGetData, []byte{0, 0, 0, 9, '/', 0}},
		{"huge path length", OpSync, []byte{0x7f, 0xff, 0xff, 0xff}},
		{"negative data length", OpSetData, []byte{0, 0, 0, 1, '/', 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"acl count beyond body", OpSetACL, []byte{0, 0, 0, 1, '/', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"negative acl count", OpSetACL, []byte{0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0}},
		{"huge string vector", OpSetWatches, append(make([]byte, 8), 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0)},
		{"multi without terminator", OpMulti, []byte{0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeRequest(tc.op, tc.body); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeRequest(%s, %x) = %v, want ErrMalformed", tc.op, tc.body, err)
			}
		})
	}
}

func TestNullVersusEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want []byte
	}{
		{"null", []byte{0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, nil},
		{"empty", []byte{0, 0, 0, 1, '/', 0, 0, 0, 0, 0, 0, 0, 0}, []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(OpSetData, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			data := r.(*SetData).Data
			if (data == nil) != (tc.want == nil) || len(data) != 0 {
				t.Errorf("Data = %#v, want %#v", data, tc.want)
			}
		})
	}
}

func TestMultiOpTypes(t *testing.T) {
	// The encoder writes any op, so it can make what decoders must refuse.
	body := func(ops ...Request) []byte { return appendOps(nil, ops) }
	for _, tc := range []struct {
		name  string
		kind  OpCode
		body  []byte
		index int
		typ   OpCode
	}{
		{"read in multi", OpMulti, body(&Delete{Path: "/a"}, &GetData{Path: "/a"}), 1, OpGetData},
		{"write in multiRead", OpMultiRead, body(&GetChildren{Path: "/"}, &SetData{Path: "/"}), 1, OpSetData},
		{"exists in multiRead", OpMultiRead, body(&Exists{Path: "/"}), 0, OpExists},
		{"nested multi", OpMulti, body(&Multi{}), 0, OpMulti},
		{"unknown type", OpMulti, body(&Raw{Op: 99}), 0, 99},
		{"check in multiRead", OpMultiRead, body(&Check{Path: "/"}), 0, OpCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.kind, tc.body)
			var me *MultiOpError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRequest = %v, want a *MultiOpError wrapping ErrMalformed", err)
			}
			if *me != (MultiOpError{Multi: tc.kind, Index: tc.index, Type: tc.typ}) {
				t.Errorf("error = %+v", *me)
			}
		})
	}
}

func TestMultiTerminator(t *testing.T) {
	// ZooKeeper stops at the first header with done set, whatever its type
	// and err.
	b := (&MultiHeader{Type: OpDelete, Err: -1}).AppendJute(nil)
	b = (&Delete{Path: "/x", Version: 3}).AppendJute(b)
	b = (&MultiHeader{Type: 5, Done: true, Err: 0}).AppendJute(b)
	r, err := DecodeRequest(OpMulti, b)
	if err != nil {
		t.Fatal(err)
	}
	want := &Multi{Ops: []Request{&Delete{Path: "/x", Version: 3}}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %#v, want %#v", r, want)
	}
}

// testResponses holds a reply body for every request type with one.
func testResponses() []struct {
	op   OpCode
	body Record
} {
	return []struct {
		op   OpCode
		body Record
	}{
		{OpCreate, &CreateResponse{Path: "/a0000000001"}},
		{OpCreate2, &Create2Response{Path: "/b", Stat: testStat}},
		{OpCreateContainer, &Create2Response{Path: "/c", Stat: testStat}},
		{OpCreateTTL, &Create2Response{Path: "/t", Stat: testStat}},
		{OpExists, &ExistsResponse{Stat: testStat}},
		{OpGetData, &GetDataResponse{Data: []byte("data"), Stat: testStat}},
		{OpGetData, &GetDataResponse{Data: nil, Stat: Stat{}}},
		{OpGetData, &GetDataResponse{Data: emptyData, Stat: Stat{}}},
		{OpReconfig, &GetDataResponse{Data: []byte("version=0"), Stat: testStat}},
		{OpSetData, &SetDataResponse{Stat: testStat}},
		{OpGetACL, &GetACLResponse{ACL: testACL, Stat: testStat}},
		{OpSetACL, &SetACLResponse{Stat: testStat}},
		{OpGetChildren, &GetChildrenResponse{Children: []string{"a", "b"}}},
		{OpGetChildren, &GetChildrenResponse{Children: []string{}}},
		{OpGetChildren2, &GetChildren2Response{Children: []string{"zookeeper"}, Stat: testStat}},
		{OpSync, &SyncResponse{Path: "/sync"}},
		{OpMulti, &MultiResponse{Results: []OpResult{
			{Type: OpCreate, Path: "/m"},
			{Type: OpCreate2, Path: "/m/2", Stat: testStat},
			{Type: OpSetData, Stat: testStat},
			{Type: OpCheck},
			{Type: OpDelete},
		}}},
		{OpMulti, &MultiResponse{Results: []OpResult{
			{Type: OpError, Err: CodeOK},
			{Type: OpError, Err: CodeNoNode},
			{Type: OpError, Err: CodeRuntimeInconsistency},
		}}},
		{OpMulti, &MultiResponse{}},
		{OpMultiRead, &MultiResponse{Results: []OpResult{
			{Type: OpGetData, Data: []byte("x"), Stat: testStat},
			{Type: OpGetData, Data: nil, Stat: testStat},
			{Type: OpGetChildren, Children: []string{"a"}},
			{Type: OpError, Err: CodeNoNode},
		}}},
		{OpGetEphemerals, &GetEphemeralsResponse{Ephemerals: []string{"/e1", "/r/e2"}}},
		{OpGetAllChildrenNumber, &GetAllChildrenNumberResponse{TotalNumber: 3}},
		{OpAddWatch, &ErrorResponse{Err: CodeOK}},
		{OpWhoAmI, &WhoAmIResponse{ClientInfo: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "user"}}}},
		{OpWhoAmI, &WhoAmIResponse{ClientInfo: []ClientInfo{}}},
		{OpSASL, &SASLResponse{Token: []byte("tok")}},
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, tc := range testResponses() {
		b := tc.body.AppendJute(nil)
		got, err := DecodeResponse(tc.op, b)
		if err != nil {
			t.Fatalf("DecodeResponse(%s, %x): %v", tc.op, b, err)
		}
		if !reflect.DeepEqual(got, tc.body) {
			t.Errorf("%s: decoded %#v, want %#v", tc.op, got, tc.body)
		}
		if b2 := got.AppendJute(nil); !bytes.Equal(b2, b) {
			t.Errorf("%s: re-encoded %x, want %x", tc.op, b2, b)
		}
		for n := range len(b) {
			if _, err := DecodeResponse(tc.op, b[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeResponse(%s, %d of %d bytes) = %v, want ErrMalformed", tc.op, n, len(b), err)
			}
		}
		frame := AppendReply(nil, ReplyHeader{Xid: 9, Zxid: 0x1234, Err: CodeOK}, tc.body)
		h, body, err := DecodeReplyHeader(frame[4:])
		if err != nil || h != (ReplyHeader{9, 0x1234, CodeOK}) || !bytes.Equal(body, b) {
			t.Errorf("%s frame: header %+v body %x err %v", tc.op, h, body, err)
		}
	}
	for _, op := range []OpCode{OpDelete, OpPing, OpCheckWatches, OpRemoveWatches, OpDeleteContainer, OpAuth, OpSetWatches, OpSetWatches2, OpCloseSession} {
		if r, err := DecodeResponse(op, nil); r != nil || err != nil {
			t.Errorf("DecodeResponse(%s) = %v, %v, want no body", op, r, err)
		}
	}
	for _, op := range []OpCode{OpNotification, OpCheck, OpCreateSession, 10, 200} {
		if _, err := DecodeResponse(op, nil); !errors.Is(err, ErrUnknownOpcode) {
			t.Errorf("DecodeResponse(%s) = %v, want ErrUnknownOpcode", op, err)
		}
	}
}

func TestResponseEncoding(t *testing.T) {
	if got := len((&Stat{}).AppendJute(nil)); got != StatSize {
		t.Errorf("Stat is %d bytes, want %d", got, StatSize)
	}
	// addWatch's reply is an int 0.
	if got := (&ErrorResponse{}).AppendJute(nil); !bytes.Equal(got, []byte{0, 0, 0, 0}) {
		t.Errorf("addWatch reply = %x", got)
	}
	// A multi error result is {−1, false, err} + int err.
	got := (&MultiResponse{Results: []OpResult{{Type: OpError, Err: CodeNoNode}}}).AppendJute(nil)
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x9b, 0xff, 0xff, 0xff, 0x9b,
		0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff,
	}
	if !bytes.Equal(got, want) {
		t.Errorf("multi error = %x, want %x", got, want)
	}
	// A success result's header err is 0, even if Err is set.
	got = (&MultiResponse{Results: []OpResult{{Type: OpDelete, Err: CodeNoNode}}}).AppendJute(nil)
	if !bytes.Equal(got[:9], []byte{0, 0, 0, 2, 0, 0, 0, 0, 0}) {
		t.Errorf("multi delete = %x", got)
	}
}

func TestMultiResponseBadType(t *testing.T) {
	b := (&MultiHeader{Type: OpExists}).AppendJute(nil)
	b = multiEnd.AppendJute(b)
	if _, err := DecodeResponse(OpMulti, b); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeResponse = %v, want ErrMalformed", err)
	}
}

func TestConnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  ConnectRequest
		size int
	}{
		{"3.4+", ConnectRequest{LastZxidSeen: 5, TimeOut: 30000, SessionID: 0, Passwd: make([]byte, 16), ReadOnly: false}, 45},
		{"read-only", ConnectRequest{TimeOut: 4000, SessionID: 0x100005775650000, Passwd: testPass, ReadOnly: true}, 45},
		{"3.3", ConnectRequest{TimeOut: 4000, Passwd: testPass, OmitReadOnly: true}, 44},
		{"null password", ConnectRequest{TimeOut: 1, Passwd: nil}, 29},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.req.AppendJute(nil)
			if len(b) != tc.size {
				t.Errorf("encoded %d bytes, want %d", len(b), tc.size)
			}
			got, err := DecodeConnectRequest(b)
			if err != nil || !reflect.DeepEqual(got, tc.req) {
				t.Errorf("DecodeConnectRequest = %+v, %v, want %+v", got, err, tc.req)
			}
			for n := range len(b) - 1 {
				if _, err := DecodeConnectRequest(b[:n]); !errors.Is(err, ErrMalformed) {
					t.Errorf("DecodeConnectRequest(%d of %d bytes) = %v, want ErrMalformed", n, len(b), err)
				}
			}

			// The response carries the readOnly byte only if the request did.
			resp := ConnectResponse{TimeOut: 4000, SessionID: 7, Passwd: testPass, OmitReadOnly: tc.req.OmitReadOnly}
			rb := resp.AppendJute(nil)
			want := 37
			if tc.req.OmitReadOnly {
				want = 36
			}
			if len(rb) != want {
				t.Errorf("response is %d bytes, want %d", len(rb), want)
			}
			gotResp, err := DecodeConnectResponse(rb)
			if err != nil || !reflect.DeepEqual(gotResp, resp) {
				t.Errorf("DecodeConnectResponse = %+v, %v, want %+v", gotResp, err, resp)
			}
		})
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	for _, tc := range []struct{ in, out Record }{
		{&WatcherEvent{Type: EventNodeChildrenChanged, State: StateSyncConnected, Path: "/p"}, new(WatcherEvent)},
		{&RequestHeader{Xid: XidPing, Type: OpPing}, new(RequestHeader)},
		{&ReplyHeader{Xid: XidNotification, Zxid: -1, Err: CodeOK}, new(ReplyHeader)},
		{&MultiHeader{Type: OpCreate, Done: false, Err: -1}, new(MultiHeader)},
		{&testStat, new(Stat)},
		{&Raw{Op: 99, Body: []byte{1, 2}}, new(Raw)},
	} {
		b := tc.in.AppendJute(nil)
		if err := Decode(b, tc.out); err != nil {
			t.Fatalf("Decode(%T): %v", tc.out, err)
		}
		if raw, ok := tc.out.(*Raw); ok {
			raw.Op = 99
		}
		if !reflect.DeepEqual(tc.in, tc.out) {
			t.Errorf("%T: got %+v, want %+v", tc.in, tc.out, tc.in)
		}
	}
	// The notification frame of ZK-SEMANTICS §9.
	frame := AppendReply(nil, ReplyHeader{Xid: XidNotification, Zxid: 0x10, Err: CodeOK},
		&WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"})
	want := []byte{
		0, 0, 0, 30,
		0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0,
		0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, '/', 'a',
	}
	if !bytes.Equal(frame, want) {
		t.Errorf("notification = %x, want %x", frame, want)
	}
}

func TestDecoderBool(t *testing.T) {
	// Java's readBoolean takes any non-zero byte as true.
	r, err := DecodeRequest(OpExists, []byte{0, 0, 0, 1, '/', 7})
	if err != nil || !r.(*Exists).Watch {
		t.Errorf("DecodeRequest = %+v, %v", r, err)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{OpGetData.String(), "getData"},
		{OpCloseSession.String(), "closeSession"},
		{OpCode(10).String(), "OpCode(10)"},
		{CodeNoNode.String(), "NONODE"},
		{CodeSessionClosedRequireSASLAuth.String(), "SESSIONCLOSEDREQUIRESASLAUTH"},
		{Code(-9).String(), "Code(-9)"},
		{CodeNoNode.Message(), "NoNode"},
		{CodeNotEmpty.Message(), "Directory not empty"},
		{CodeInvalidACL.Message(), "InvalidACL"},
		{CodeQuotaExceeded.Message(), "Quota has exceeded"},
		{EventNodeDataChanged.String(), "NodeDataChanged"},
		{EventType(9).String(), "EventType(9)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
