package zkwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// countingReader reports how many bytes were read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadFrame(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, DefaultMaxBuffer)
	for _, tc := range []struct {
		name     string
		in       []byte
		limit    int
		want     []byte
		wantErr  error
		consumed int
	}{
		{"empty frame", []byte{0, 0, 0, 0}, 0, []byte{}, nil, 4},
		{"small", []byte{0, 0, 0, 2, 'h', 'i', 'x'}, 0, []byte("hi"), nil, 6},
		{"at default limit", AppendFrame(nil, big), 0, big, nil, 4 + DefaultMaxBuffer},
		{"above default limit", []byte{0, 0x10, 0, 0, 'x'}, 0, nil, ErrFrameTooLarge, 4},
		{"above given limit", []byte{0, 0, 0, 3, 'a', 'b', 'c'}, 2, nil, ErrFrameTooLarge, 4},
		{"negative", []byte{0xff, 0xff, 0xff, 0xff, 'x'}, 0, nil, ErrFrameTooLarge, 4},
		{"min int", []byte{0x80, 0, 0, 0, 'x'}, 0, nil, ErrFrameTooLarge, 4},
		{"clean EOF", nil, 0, nil, io.EOF, 0},
		{"EOF in length", []byte{0, 0}, 0, nil, io.ErrUnexpectedEOF, 2},
		{"EOF in payload", []byte{0, 0, 0, 5, 'a'}, 0, nil, io.ErrUnexpectedEOF, 5},
		{"EOF before payload", []byte{0, 0, 0, 5}, 0, nil, io.ErrUnexpectedEOF, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(tc.in)}
			got, err := ReadFrame(r, tc.limit)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("ReadFrame = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) || (tc.want != nil && got == nil) {
				t.Errorf("ReadFrame = %q, want %q", got, tc.want)
			}
			if r.n != tc.consumed {
				t.Errorf("read %d bytes, want %d", r.n, tc.consumed)
			}
		})
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0}; !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("wrote %x, want %x", buf.Bytes(), want)
	}
	for _, want := range [][]byte{[]byte("abc"), {}} {
		got, err := ReadFrame(&buf, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFrame = %q, %v, want %q", got, err, want)
		}
	}
}

func TestAppendFramed(t *testing.T) {
	got := AppendFramed([]byte{9}, &RequestHeader{Xid: 1, Type: OpPing}, nil, &Sync{Path: "/"})
	want := []byte{9, 0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0, 1, '/'}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendFramed = %x, want %x", got, want)
	}
	if got := AppendRequest(nil, RequestHeader{Xid: XidPing, Type: OpPing}, nil); !bytes.Equal(got, []byte{0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11}) {
		t.Errorf("ping frame = %x", got)
	}
}

func TestDecodeHeadersShort(t *testing.T) {
	if _, _, err := DecodeRequestHeader([]byte{0, 0, 0, 1, 0, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeRequestHeader = %v, want ErrMalformed", err)
	}
	if _, _, err := DecodeReplyHeader(make([]byte, 15)); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeReplyHeader = %v, want ErrMalformed", err)
	}
}

func BenchmarkAppendReplyGetData(b *testing.B) {
	body := &GetDataResponse{Data: make([]byte, 100), Stat: testStat}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendReply(buf[:0], ReplyHeader{Xid: 1, Zxid: 2}, body)
	}
}

func BenchmarkDecodeRequestCreate(b *testing.B) {
	body := (&Create{Path: "/a/b/c", Data: make([]byte, 100), ACL: testACL, Flags: FlagEphemeral}).AppendJute(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(OpCreate, body); err != nil {
			b.Fatal(err)
		}
	}
}
