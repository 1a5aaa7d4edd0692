package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"zkfdb/layerd/zkwire"
)

// pipe is a raw session that several goroutines use at once, each call
// one request and its reply: MultiRead speaks it because go-zookeeper has
// no multiRead. A reader goroutine hands each reply to the call waiting
// for its xid; a pinger keeps the session alive while no call is made.
type pipe struct {
	s *rawSession

	mu      sync.Mutex // guards writes to s.nc, s.xid, waiting and err
	waiting map[int32]chan<- pipeReply
	err     error // why the reader stopped; nil while it runs

	stop    chan struct{} // closed by close: the pinger exits
	stopped chan struct{} // closed when the reader has exited
	pinger  sync.WaitGroup
}

// pipeReply is a reply frame (its header and body), or why none came.
type pipeReply struct {
	h    zkwire.ReplyHeader
	body []byte
	err  error
}

// openPipe opens a session on addr asking for timeout and starts its reader
// and pinger.
func openPipe(ctx context.Context, addr string, timeout time.Duration) (*pipe, error) {
	s, err := openRaw(ctx, addr, timeout)
	if err != nil {
		return nil, err
	}
	p := &pipe{s: s, waiting: map[int32]chan<- pipeReply{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	go p.read()
	p.pinger.Go(p.ping)
	return p, nil
}

// read hands each reply to its caller until the connection fails or is
// closed, then fails every waiting call.
func (p *pipe) read() {
	defer close(p.stopped)
	for {
		frame, err := zkwire.ReadFrame(p.s.r, 0)
		var h zkwire.ReplyHeader
		var body []byte
		if err == nil {
			h, body, err = zkwire.DecodeReplyHeader(frame)
		}
		if err != nil {
			p.mu.Lock()
			p.err = connectionLoss(err)
			for xid, ch := range p.waiting {
				ch <- pipeReply{err: p.err}
				delete(p.waiting, xid)
			}
			p.mu.Unlock()
			return
		}
		if h.Xid == zkwire.XidPing {
			continue
		}
		p.mu.Lock()
		ch, ok := p.waiting[h.Xid]
		delete(p.waiting, h.Xid)
		p.mu.Unlock()
		if ok {
			ch <- pipeReply{h: h, body: body}
		}
	}
}

// ping sends a ping every third of the session's timeout until close.
func (p *pipe) ping() {
	t := time.NewTicker(p.s.timeout / 3)
	defer t.Stop()
	frame := zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: zkwire.XidPing, Type: zkwire.OpPing}, nil)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.err == nil {
				p.s.nc.Write(frame) // a failed write fails the reader too
			}
			p.mu.Unlock()
		}
	}
}

// call sends a request and waits for its reply, for at most the session's
// timeout. A reply with an error code is a replyError.
func (p *pipe) call(op zkwire.OpCode, body zkwire.Record) ([]byte, error) {
	ch := make(chan pipeReply, 1)
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return nil, err
	}
	p.s.xid++
	xid := p.s.xid
	p.waiting[xid] = ch
	_, err := p.s.nc.Write(zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: xid, Type: op}, body))
	p.mu.Unlock()
	if err != nil {
		p.s.nc.Close() // the reader fails every call, this one included
	}
	timer := time.NewTimer(p.s.timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		switch {
		case r.err != nil:
			return nil, r.err
		case r.h.Err != zkwire.CodeOK:
			return r.body, replyError{r.h.Err}
		}
		return r.body, nil
	case <-timer.C:
		p.s.nc.Close()
		return nil, connectionLoss(fmt.Errorf("no reply to xid %d within %v", xid, p.s.timeout))
	}
}

// close ends the session (closeSession) and the connection, and waits for
// the reader and pinger to exit. It is safe to call once.
func (p *pipe) close() error {
	_, err := p.call(zkwire.OpCloseSession, nil)
	close(p.stop)
	p.pinger.Wait()
	err = errors.Join(err, p.s.nc.Close())
	<-p.stopped
	return err
}
