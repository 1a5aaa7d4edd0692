package zkwire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goldenFrame is one line of a testdata/golden file: a frame payload
// captured between a real client and a real ZooKeeper (see each file's
// header).
type goldenFrame struct {
	line   int
	client bool
	label  string // "connect", "notification" or an opcode number
	b      []byte
}

func readGolden(t *testing.T, path string) []goldenFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var frames []goldenFrame
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 || (fields[0] != "C" && fields[0] != "S") {
			t.Fatalf("%s:%d: bad line", path, n)
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		frames = append(frames, goldenFrame{line: n, client: fields[0] == "C", label: fields[1], b: b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return frames
}

// TestGolden decodes every frame captured from real clients and ZooKeeper
// and encodes it again: the bytes must be the same. Requests that our
// decoder refuses must be the ones ZooKeeper refused, with the code a
// server gives for our error.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/golden/*.golden")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	seenReq := map[OpCode]bool{}
	seenResp := map[OpCode]bool{}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var connect *ConnectRequest
			refused := map[int32]Code{} // xid → code we expect for a request we refuse
			for _, f := range readGolden(t, path) {
				where := path + ":" + strconv.Itoa(f.line)
				switch {
				case f.label == "connect" && f.client:
					r, err := DecodeConnectRequest(f.b)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					connect = &r
					checkSame(t, where, r.AppendJute(nil), f.b)
				case f.label == "connect":
					r, err := DecodeConnectResponse(f.b)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if connect == nil || r.OmitReadOnly != connect.OmitReadOnly {
						t.Errorf("%s: response OmitReadOnly %v does not follow the request's", where, r.OmitReadOnly)
					}
					checkSame(t, where, r.AppendJute(nil), f.b)
				case f.client:
					h, body, err := DecodeRequestHeader(f.b)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if label(h.Type) != f.label {
						t.Fatalf("%s: header type %d, label %s", where, h.Type, f.label)
					}
					req, err := DecodeRequest(h.Type, body)
					switch {
					case errors.Is(err, ErrUnknownOpcode):
						refused[h.Xid] = CodeUnimplemented
						continue
					case errors.Is(err, ErrMalformed):
						refused[h.Xid] = CodeMarshallingError
						continue
					case err != nil:
						t.Fatalf("%s: %v", where, err)
					}
					seenReq[h.Type] = true
					checkSame(t, where, AppendRequest(nil, h, req)[4:], f.b)
				default:
					h, body, err := DecodeReplyHeader(f.b)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					var rec Record
					switch {
					case f.label == "notification":
						if h.Xid != XidNotification {
							t.Errorf("%s: notification xid %d", where, h.Xid)
						}
						ev := new(WatcherEvent)
						if err := Decode(body, ev); err != nil {
							t.Fatalf("%s: %v", where, err)
						}
						rec = ev
					default:
						if want, ok := refused[h.Xid]; ok {
							if h.Err != want || len(body) != 0 {
								t.Errorf("%s: ZooKeeper answered %s with %d body bytes to a request we refuse with %s", where, h.Err, len(body), want)
							}
							continue
						}
						op := opOf(t, where, f.label)
						if h.Err != CodeOK {
							// Error replies have no body, multi's included
							// when the whole request failed.
							if len(body) != 0 {
								t.Errorf("%s: %s reply with %s has a body", where, op, h.Err)
							}
							seenResp[op] = true
							continue
						}
						rec, err = DecodeResponse(op, body)
						if err != nil {
							t.Fatalf("%s: %v", where, err)
						}
						if rec == nil && len(body) != 0 {
							t.Errorf("%s: %s reply has %d unexpected body bytes", where, op, len(body))
						}
						seenResp[op] = true
					}
					checkSame(t, where, AppendReply(nil, h, rec)[4:], f.b)
				}
			}
		})
	}
	for _, op := range []OpCode{
		OpCreate, OpDelete, OpExists, OpGetData, OpSetData, OpGetACL, OpSetACL, OpGetChildren,
		OpSync, OpPing, OpGetChildren2, OpMulti, OpCreateContainer, OpCreateTTL, OpMultiRead,
		OpCheckWatches, OpRemoveWatches, OpAuth, OpGetEphemerals, OpGetAllChildrenNumber,
		OpSetWatches, OpSetWatches2, OpAddWatch, OpWhoAmI, OpCloseSession, OpReconfig,
	} {
		if !seenReq[op] || !seenResp[op] {
			t.Errorf("golden files lack a %s request or reply", op)
		}
	}
}

func label(op OpCode) string { return strconv.Itoa(int(op)) }

func opOf(t *testing.T, where, label string) OpCode {
	n, err := strconv.Atoi(label)
	if err != nil {
		t.Fatalf("%s: label %q", where, label)
	}
	return OpCode(n)
}

func checkSame(t *testing.T, where string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: re-encoded\n%x, captured\n%x", where, got, want)
	}
}
