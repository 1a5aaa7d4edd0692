package zkserver

import (
	"net"
	"sync"
	"sync/atomic"

	"zkfdb/layerd/zkwire"
)

// frameReader reads a connection's request frames. It keeps every byte it
// has read until a whole frame is there, so that a read cut short by a
// deadline loses nothing: the goroutine that runs a connection's
// requests also waits for its events, by moving its read deadline to now
// when they come (conn.await). An idle connection holds no read buffer:
// it reads into a small array of its own, which holds a ping or a
// ConnectRequest whole, and takes a buffer from a pool when more comes,
// until it is idle again (release).
type frameReader struct {
	nc    net.Conn
	limit int           // the largest frame (jute.maxbuffer; ≤ 0: zkwire's default)
	held  *atomic.Int64 // counts the pooled buffers taken and not given back
	small [smallRead]byte
	// buf[r:w] is read and not yet taken; buf is small[:] or, when
	// pooled, a buffer of readBuffer bytes from readBuffers.
	buf    []byte
	r, w   int
	pooled *[]byte
	// big is a frame longer than a buffer, read into a slice of its own:
	// its first bigN bytes are there.
	big  []byte
	bigN int
}

// smallRead is the read array of an idle connection: a ping (12 bytes)
// or a ConnectRequest (49) fits.
const smallRead = 64

// readBuffers are the read buffers of connections that are not idle.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBuffer); return &b }}

func (f *frameReader) init(nc net.Conn, limit int, held *atomic.Int64) {
	f.nc, f.limit, f.held = nc, limit, held
	f.buf = f.small[:]
}

// frame returns the next whole frame read (a copy, without its length),
// or nil if there is none yet; an error if the next frame's length is
// refused.
func (f *frameReader) frame() ([]byte, error) {
	if f.big != nil {
		if f.bigN < len(f.big) {
			return nil, nil
		}
		b := f.big
		f.big, f.bigN = nil, 0
		return b, nil
	}
	n, ok, err := f.length()
	if !ok {
		return nil, err
	}
	body := f.buf[f.r+4 : f.w]
	if n <= len(body) {
		b := make([]byte, n)
		copy(b, body)
		f.r += 4 + n
		return b, nil
	}
	if 4+n > readBuffer {
		// Longer than a buffer: the rest is read into the frame itself.
		f.big = make([]byte, n)
		f.bigN = copy(f.big, body)
		f.r = f.w
	}
	return nil, nil
}

// empty reports whether nothing read is left to take.
func (f *frameReader) empty() bool { return f.big == nil && f.r == f.w }

// ready reports whether a whole frame has been read (frame returns it).
func (f *frameReader) ready() bool {
	if f.big != nil {
		return f.bigN == len(f.big)
	}
	n, ok, _ := f.length()
	return ok && n <= f.w-f.r-4
}

// length returns the length of the next frame in buf: ok when its 4
// bytes are there and it is accepted (zkwire.FrameLength), err when it
// is refused.
func (f *frameReader) length() (n int, ok bool, err error) {
	if f.w-f.r < 4 {
		return 0, false, nil
	}
	n, err = zkwire.FrameLength(f.buf[f.r:f.r+4], f.limit)
	return n, err == nil, err
}

// fill reads once from the connection, after what is already read.
func (f *frameReader) fill() error {
	if f.big != nil {
		n, err := f.nc.Read(f.big[f.bigN:])
		f.bigN += n
		return err
	}
	if f.r == f.w {
		f.r, f.w = 0, 0
	}
	switch {
	case f.pooled == nil && f.w > 0:
		// Part of a frame is in the small array: a request, not a ping
		// of an idle connection. Read the rest, and what follows, into a
		// buffer.
		f.pooled = readBuffers.Get().(*[]byte)
		f.held.Add(1)
		f.w = copy(*f.pooled, f.buf[f.r:f.w])
		f.r, f.buf = 0, *f.pooled
	case f.w == len(f.buf):
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	n, err := f.nc.Read(f.buf[f.w:])
	f.w += n
	return err
}

// release gives the buffer back to the pool if nothing read is left in it:
// the connection is idle.
func (f *frameReader) release() {
	if f.pooled != nil && f.r == f.w {
		f.close()
	}
}

// close gives the buffer back to the pool, whatever it holds.
func (f *frameReader) close() {
	if f.pooled != nil {
		readBuffers.Put(f.pooled)
		f.held.Add(-1)
		f.pooled = nil
		f.buf, f.r, f.w = f.small[:], 0, 0
	}
}

// need reads until at least n ≤ smallRead bytes are there (the handshake's
// four-letter words) and returns them, not taken.
func (f *frameReader) need(n int) ([]byte, error) {
	for f.w-f.r < n {
		if err := f.fill(); err != nil {
			return nil, err
		}
	}
	return f.buf[f.r : f.r+n], nil
}

// discard takes n bytes that need returned.
func (f *frameReader) discard(n int) { f.r += n }

// next reads until a whole frame is there and returns it.
func (f *frameReader) next() ([]byte, error) {
	for {
		b, err := f.frame()
		if b != nil || err != nil {
			return b, err
		}
		if err := f.fill(); err != nil {
			return nil, err
		}
	}
}
