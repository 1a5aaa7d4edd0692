package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-zookeeper/zk"

	"zkfdb/layerd/zkwire"
)

// rawSession is a session spoken over ZooKeeper's wire protocol directly,
// without go-zookeeper: the Session workload opens and closes thousands a
// second, and go-zookeeper gives each connection three goroutines and two
// 1.5 MiB buffers, which would make the load tool, not the server, the
// limit. It handles only the handshake, pings and closeSession, one request
// at a time.
type rawSession struct {
	nc      net.Conn
	r       *bufio.Reader
	id      int64
	timeout time.Duration // negotiated
	xid     int32
}

// replyError is a reply whose header carries a ZooKeeper error code.
type replyError struct{ code zkwire.Code }

func (e replyError) Error() string { return "zkload: reply " + e.code.String() }

// connectionLoss wraps err so that errorCode counts it as CONNECTIONLOSS,
// as a ZooKeeper client reports a broken connection.
func connectionLoss(err error) error {
	return fmt.Errorf("%w: %w", zk.ErrConnectionClosed, err)
}

// openRaw connects to addr and opens a new session asking for timeout. A
// server that refuses the session (a zero timeout in its answer) is
// SESSIONEXPIRED, as for go-zookeeper.
func openRaw(ctx context.Context, addr string, timeout time.Duration) (*rawSession, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, connectionLoss(err)
	}
	s := &rawSession{nc: nc, r: bufio.NewReaderSize(nc, 64)}
	req := zkwire.ConnectRequest{TimeOut: int32(timeout.Milliseconds()), Passwd: make([]byte, 16)}
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	frame, err := s.roundTrip(zkwire.AppendFramed(nil, &req))
	if err != nil {
		nc.Close()
		return nil, err
	}
	resp, err := zkwire.DecodeConnectResponse(frame)
	if err != nil {
		nc.Close()
		return nil, connectionLoss(err)
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		return nil, zk.ErrSessionExpired
	}
	nc.SetDeadline(time.Time{})
	s.id, s.timeout = resp.SessionID, time.Duration(resp.TimeOut)*time.Millisecond
	return s, nil
}

// roundTrip writes one framed request and reads one frame back, within the
// session's deadline if one is set.
func (s *rawSession) roundTrip(framed []byte) ([]byte, error) {
	if _, err := s.nc.Write(framed); err != nil {
		return nil, connectionLoss(err)
	}
	frame, err := zkwire.ReadFrame(s.r, 0)
	if err != nil {
		return nil, connectionLoss(err)
	}
	return frame, nil
}

// call sends a request with no body (ping, closeSession) and waits for its
// reply, within d. Pings have their own xid; others take the next one.
func (s *rawSession) call(op zkwire.OpCode, d time.Duration) error {
	h := zkwire.RequestHeader{Type: op, Xid: zkwire.XidPing}
	if op != zkwire.OpPing {
		s.xid++
		h.Xid = s.xid
	}
	s.nc.SetDeadline(time.Now().Add(d))
	defer s.nc.SetDeadline(time.Time{})
	frame, err := s.roundTrip(zkwire.AppendFramed(nil, &h))
	if err != nil {
		return err
	}
	rh, _, err := zkwire.DecodeReplyHeader(frame)
	switch {
	case err != nil:
		return connectionLoss(err)
	case rh.Xid != h.Xid:
		return connectionLoss(fmt.Errorf("reply xid %d to request xid %d", rh.Xid, h.Xid))
	case rh.Err != zkwire.CodeOK:
		return replyError{rh.Err}
	}
	return nil
}

// ping sends a ping and waits for its answer, within the session's timeout.
func (s *rawSession) ping() error { return s.call(zkwire.OpPing, s.timeout) }

// close ends the session (closeSession, within the session's timeout) and
// closes the connection.
func (s *rawSession) close() error {
	err := s.call(zkwire.OpCloseSession, s.timeout)
	return errors.Join(err, s.nc.Close())
}
