package zkwire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxBuffer is ZooKeeper's default jute.maxbuffer, the largest frame
// a server accepts: 0xfffff bytes.
const DefaultMaxBuffer = 0xfffff

// ReadFrame reads one frame from r and returns its payload. A length below
// zero or above limit is an error wrapping ErrFrameTooLarge, and nothing more
// is read; limit ≤ 0 means DefaultMaxBuffer. A clean end of input before the
// length is io.EOF; an end inside the frame is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, err := FrameLength(hdr[:], limit)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// FrameLength returns the payload length that a frame's first 4 bytes
// (hdr) give: an error wrapping ErrFrameTooLarge if it is below zero or
// above limit (≤ 0: DefaultMaxBuffer).
func FrameLength(hdr []byte, limit int) (int, error) {
	if limit <= 0 {
		limit = DefaultMaxBuffer
	}
	n := int32(binary.BigEndian.Uint32(hdr))
	if n < 0 || int64(n) > int64(limit) {
		return 0, fmt.Errorf("%w: %d, limit %d", ErrFrameTooLarge, n, limit)
	}
	return int(n), nil
}

// AppendFrame appends payload with its 4-byte length.
func AppendFrame(dst, payload []byte) []byte {
	dst = AppendInt(dst, int32(len(payload)))
	return append(dst, payload...)
}

// WriteFrame writes payload with its length in one Write call.
func WriteFrame(w io.Writer, payload []byte) error {
	_, err := w.Write(AppendFrame(make([]byte, 0, 4+len(payload)), payload))
	return err
}

// AppendFramed appends one frame holding the records in order; nil records
// are skipped. The connect handshake is a frame of one record:
// AppendFramed(dst, &ConnectRequest{…}).
func AppendFramed(dst []byte, recs ...Record) []byte {
	start, dst := beginFrame(dst)
	for _, r := range recs {
		if r != nil {
			dst = r.AppendJute(dst)
		}
	}
	return endFrame(dst, start)
}

// AppendRequest appends a request frame: the header and the body (nil for
// requests without one, like ping and closeSession).
func AppendRequest(dst []byte, h RequestHeader, body Record) []byte {
	start, dst := beginFrame(dst)
	dst = h.AppendJute(dst)
	if body != nil {
		dst = body.AppendJute(dst)
	}
	return endFrame(dst, start)
}

// AppendReply appends a reply frame: the header and the body (nil for
// replies without one, including every error reply but those of a multi or
// multiRead that was decoded). A notification is
// AppendReply(dst, ReplyHeader{Xid: XidNotification, Zxid: zxid}, &WatcherEvent{…}).
func AppendReply(dst []byte, h ReplyHeader, body Record) []byte {
	start, dst := beginFrame(dst)
	dst = h.AppendJute(dst)
	if body != nil {
		dst = body.AppendJute(dst)
	}
	return endFrame(dst, start)
}

// beginFrame appends a length placeholder and returns its offset.
func beginFrame(dst []byte) (int, []byte) {
	return len(dst), append(dst, 0, 0, 0, 0)
}

// endFrame fills in the length of the frame begun at start.
func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// DecodeRequestHeader splits a request frame into its header and body.
// Errors wrap ErrMalformed.
func DecodeRequestHeader(frame []byte) (RequestHeader, []byte, error) {
	var h RequestHeader
	d := NewDecoder(frame)
	h.DecodeJute(d)
	if err := d.Err(); err != nil {
		return RequestHeader{}, nil, fmt.Errorf("request header: %w", err)
	}
	return h, frame[d.Offset():], nil
}

// DecodeReplyHeader splits a reply frame into its header and body. Errors
// wrap ErrMalformed.
func DecodeReplyHeader(frame []byte) (ReplyHeader, []byte, error) {
	var h ReplyHeader
	d := NewDecoder(frame)
	h.DecodeJute(d)
	if err := d.Err(); err != nil {
		return ReplyHeader{}, nil, fmt.Errorf("reply header: %w", err)
	}
	return h, frame[d.Offset():], nil
}
