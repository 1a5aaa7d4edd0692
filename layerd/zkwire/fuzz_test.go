package zkwire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora in testdata/fuzz")

// The seed corpora in testdata/fuzz/<FuzzName>/ run as ordinary tests.
// TestFuzzSeeds -update rewrites them from the round-trip cases, the
// golden captures and a few hostile inputs.

func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		lim := int(limit) + 1
		r := &countingReader{r: bytes.NewReader(data)}
		p, err := ReadFrame(r, lim)
		switch {
		case err == nil:
			if len(p) > lim {
				t.Fatalf("frame of %d bytes over limit %d", len(p), lim)
			}
			if !bytes.Equal(AppendFrame(nil, p), data[:4+len(p)]) || r.n != 4+len(p) {
				t.Fatalf("frame %x does not match its input %x (read %d)", p, data, r.n)
			}
		case errors.Is(err, ErrFrameTooLarge):
			if r.n != 4 {
				t.Fatalf("read %d bytes after a bad length", r.n)
			}
		}
	})
}

func FuzzDecodeConnectRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeConnectRequest(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		enc := r.AppendJute(nil)
		if len(enc) > len(data) {
			t.Fatalf("re-encoded to %d bytes from %d", len(enc), len(data))
		}
		r2, err := DecodeConnectRequest(enc)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-decoded %+v, %v, want %+v", r2, err, r)
		}
		resp := ConnectResponse{Passwd: r.Passwd, OmitReadOnly: r.OmitReadOnly}
		if len(resp.AppendJute(nil)) != len(enc)-8 {
			t.Fatalf("response and request differ in shape")
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		req, err := DecodeRequest(OpCode(op), body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownOpcode) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnknownOpcode", err)
			}
			return
		}
		if req.Opcode() != OpCode(op) {
			t.Fatalf("decoded a %s for %s", req.Opcode(), OpCode(op))
		}
		enc := req.AppendJute(nil)
		if len(enc) > len(body) {
			t.Fatalf("re-encoded to %d bytes from %d", len(enc), len(body))
		}
		req2, err := DecodeRequest(OpCode(op), enc)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("re-decoded %#v, %v, want %#v", req2, err, req)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		resp, err := DecodeResponse(OpCode(op), body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownOpcode) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrUnknownOpcode", err)
			}
			return
		}
		if resp == nil {
			return
		}
		enc := resp.AppendJute(nil)
		if len(enc) > len(body) {
			t.Fatalf("re-encoded to %d bytes from %d", len(enc), len(body))
		}
		resp2, err := DecodeResponse(OpCode(op), enc)
		if err != nil || !reflect.DeepEqual(resp, resp2) {
			t.Fatalf("re-decoded %#v, %v, want %#v", resp2, err, resp)
		}
	})
}

// TestFuzzSeeds checks that every fuzz target has seeds, and with -update
// writes them.
func TestFuzzSeeds(t *testing.T) {
	seeds := map[string][][]any{}
	add := func(name string, args ...any) { seeds[name] = append(seeds[name], args) }

	for _, f := range allGolden(t) {
		switch {
		case f.label == "connect" && f.client:
			add("FuzzDecodeConnectRequest", f.b)
		case f.label == "connect", f.label == "notification":
		case f.client:
			add("FuzzDecodeRequest", int32(opOf(t, "golden", f.label)), f.b[8:])
			add("FuzzReadFrame", AppendFrame(nil, f.b), uint16(len(f.b)))
		default:
			add("FuzzDecodeResponse", int32(opOf(t, "golden", f.label)), f.b[16:])
		}
	}
	for _, r := range testRequests() {
		add("FuzzDecodeRequest", int32(r.Opcode()), r.AppendJute(nil))
	}
	for _, tc := range testResponses() {
		add("FuzzDecodeResponse", int32(tc.op), tc.body.AppendJute(nil))
	}
	for _, r := range []ConnectRequest{
		{TimeOut: 30000, Passwd: make([]byte, 16)},
		{TimeOut: 30000, Passwd: make([]byte, 16), OmitReadOnly: true},
		{Passwd: nil},
	} {
		add("FuzzDecodeConnectRequest", r.AppendJute(nil))
	}
	add("FuzzDecodeConnectRequest", append(make([]byte, 24), 0x7f, 0xff, 0xff, 0xff))
	hostile := [][]byte{
		{0xff, 0xff, 0xff, 0xfe},             // negative length
		{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}, // huge length
		{0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // ints
		bytes.Repeat([]byte{0, 0, 0, 1, 0}, 8),
	}
	for _, b := range hostile {
		for _, op := range []OpCode{OpCreate, OpSetACL, OpMulti, OpMultiRead, OpSetWatches2, OpAuth} {
			add("FuzzDecodeRequest", int32(op), b)
		}
		for _, op := range []OpCode{OpGetACL, OpMulti, OpWhoAmI, OpGetChildren2} {
			add("FuzzDecodeResponse", int32(op), b)
		}
	}
	add("FuzzDecodeRequest", int32(OpMulti), appendOps(nil, []Request{&GetData{Path: "/"}}))
	add("FuzzDecodeRequest", int32(OpMultiRead), appendOps(nil, []Request{&Delete{Path: "/"}}))
	add("FuzzDecodeRequest", int32(99), []byte{})
	add("FuzzReadFrame", []byte{0xff, 0xff, 0xff, 0xff, 1}, uint16(10))
	add("FuzzReadFrame", []byte{0, 0, 0, 9, 1}, uint16(10))
	add("FuzzReadFrame", []byte{0, 0, 1, 0}, uint16(10))
	add("FuzzReadFrame", []byte{0, 0}, uint16(10))

	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			written := map[string]bool{}
			for _, args := range list {
				c := corpusFile(args)
				if written[string(c)] {
					continue
				}
				written[string(c)] = true
				// Named by content, as go test names what it finds.
				p := filepath.Join(dir, fmt.Sprintf("%x", sha256.Sum256(c))[:16])
				if err := os.WriteFile(p, c, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Errorf("%s has no seeds (run go test -run TestFuzzSeeds -update): %v", dir, err)
		}
	}
}

// corpusFile renders a seed in the "go test fuzz v1" format.
func corpusFile(args []any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case int32:
			fmt.Fprintf(&b, "int32(%d)\n", v)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", v)
		default:
			panic(fmt.Sprintf("corpusFile: %T", a))
		}
	}
	return b.Bytes()
}

func allGolden(t *testing.T) []goldenFrame {
	paths, err := filepath.Glob("testdata/golden/*.golden")
	if err != nil {
		t.Fatal(err)
	}
	var all []goldenFrame
	for _, p := range paths {
		all = append(all, readGolden(t, p)...)
	}
	return all
}
