package zkwire

// ACL is one access control entry: ACL{int perms, Id{ustring scheme,
// ustring id}}.
type ACL struct {
	Perms  int32
	Scheme string
	ID     string
}

// aclMinSize is the smallest encoding of an ACL: perms and two lengths.
const aclMinSize = 12

func appendACLs(dst []byte, acl []ACL) []byte {
	if acl == nil {
		return AppendInt(dst, -1)
	}
	dst = AppendInt(dst, int32(len(acl)))
	for _, a := range acl {
		dst = AppendInt(dst, a.Perms)
		dst = AppendUstring(dst, a.Scheme)
		dst = AppendUstring(dst, a.ID)
	}
	return dst
}

func decodeACLs(d *Decoder) []ACL {
	n, null := d.VectorLen(aclMinSize)
	if null || d.Err() != nil {
		return nil
	}
	acl := make([]ACL, n)
	for i := range acl {
		acl[i] = ACL{Perms: d.Int(), Scheme: d.Ustring(), ID: d.Ustring()}
	}
	if d.Err() != nil {
		return nil
	}
	return acl
}

// StatSize is the length of an encoded Stat.
const StatSize = 68

// Stat is a node's metadata as clients see it.
type Stat struct {
	Czxid          int64 // zxid of the create
	Mzxid          int64 // zxid of the last setData (or the create)
	Ctime          int64 // create time, ms since the epoch
	Mtime          int64 // last setData time
	Version        int32 // data version
	Cversion       int32 // child version, as clients see it
	Aversion       int32 // ACL version
	EphemeralOwner int64 // session of an ephemeral, else 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // zxid of the last child create or delete
}

func (s *Stat) AppendJute(dst []byte) []byte {
	dst = AppendLong(dst, s.Czxid)
	dst = AppendLong(dst, s.Mzxid)
	dst = AppendLong(dst, s.Ctime)
	dst = AppendLong(dst, s.Mtime)
	dst = AppendInt(dst, s.Version)
	dst = AppendInt(dst, s.Cversion)
	dst = AppendInt(dst, s.Aversion)
	dst = AppendLong(dst, s.EphemeralOwner)
	dst = AppendInt(dst, s.DataLength)
	dst = AppendInt(dst, s.NumChildren)
	return AppendLong(dst, s.Pzxid)
}

func (s *Stat) DecodeJute(d *Decoder) {
	s.Czxid = d.Long()
	s.Mzxid = d.Long()
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = d.Long()
}

// RequestHeader starts every request frame after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

func (h *RequestHeader) AppendJute(dst []byte) []byte {
	return AppendInt(AppendInt(dst, h.Xid), int32(h.Type))
}

func (h *RequestHeader) DecodeJute(d *Decoder) {
	h.Xid = d.Int()
	h.Type = OpCode(d.Int())
}

// ReplyHeader starts every reply frame after the handshake.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  Code
}

func (h *ReplyHeader) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, h.Xid)
	dst = AppendLong(dst, h.Zxid)
	return AppendInt(dst, int32(h.Err))
}

func (h *ReplyHeader) DecodeJute(d *Decoder) {
	h.Xid = d.Int()
	h.Zxid = d.Long()
	h.Err = Code(d.Int())
}

// ConnectRequest is the client's first frame. Clients up to 3.3 do not send
// the readOnly byte; OmitReadOnly reports that when decoding and leaves the
// byte out when encoding.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32 // requested session timeout, ms
	SessionID       int64 // 0 for a new session
	Passwd          []byte
	ReadOnly        bool
	OmitReadOnly    bool // no readOnly byte on the wire
}

func (r *ConnectRequest) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, r.ProtocolVersion)
	dst = AppendLong(dst, r.LastZxidSeen)
	dst = AppendInt(dst, r.TimeOut)
	dst = AppendLong(dst, r.SessionID)
	dst = AppendBuffer(dst, r.Passwd)
	if r.OmitReadOnly {
		return dst
	}
	return AppendBool(dst, r.ReadOnly)
}

// DecodeJute reads the request; the readOnly byte is read if any byte is
// left after passwd, as ZooKeeper's ProtocolManager does.
func (r *ConnectRequest) DecodeJute(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.OmitReadOnly = d.Err() == nil && d.Remaining() == 0
	r.ReadOnly = !r.OmitReadOnly && d.Bool()
}

// DecodeConnectRequest decodes the client's first frame. Errors wrap
// ErrMalformed.
func DecodeConnectRequest(frame []byte) (ConnectRequest, error) {
	var r ConnectRequest
	if err := Decode(frame, &r); err != nil {
		return ConnectRequest{}, err
	}
	return r, nil
}

// ConnectResponse is the server's first frame: 36 bytes with OmitReadOnly
// (answering a client that sent no readOnly byte), else 37 with a 16-byte
// password. A refused session is {TimeOut: 0, SessionID: 0, Passwd: 16
// zero bytes}.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32 // negotiated session timeout, ms
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool // true only from a read-only server
	OmitReadOnly    bool // no readOnly byte on the wire
}

func (r *ConnectResponse) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, r.ProtocolVersion)
	dst = AppendInt(dst, r.TimeOut)
	dst = AppendLong(dst, r.SessionID)
	dst = AppendBuffer(dst, r.Passwd)
	if r.OmitReadOnly {
		return dst
	}
	return AppendBool(dst, r.ReadOnly)
}

// DecodeJute reads the response; the readOnly byte is read if any byte is
// left after passwd, as ZooKeeper's clients do.
func (r *ConnectResponse) DecodeJute(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.OmitReadOnly = d.Err() == nil && d.Remaining() == 0
	r.ReadOnly = !r.OmitReadOnly && d.Bool()
}

// DecodeConnectResponse decodes the server's first frame. Errors wrap
// ErrMalformed.
func DecodeConnectResponse(frame []byte) (ConnectResponse, error) {
	var r ConnectResponse
	if err := Decode(frame, &r); err != nil {
		return ConnectResponse{}, err
	}
	return r, nil
}

// WatcherEvent is the body of a notification (xid XidNotification).
// ZooKeeper sends State StateSyncConnected and the node's full path.
type WatcherEvent struct {
	Type  EventType
	State int32
	Path  string
}

func (e *WatcherEvent) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, int32(e.Type))
	dst = AppendInt(dst, e.State)
	return AppendUstring(dst, e.Path)
}

func (e *WatcherEvent) DecodeJute(d *Decoder) {
	e.Type = EventType(d.Int())
	e.State = d.Int()
	e.Path = d.Ustring()
}

// MultiHeader precedes each op of a multi request and each result of its
// response; {−1, true, −1} ends both lists.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  Code
}

func (h *MultiHeader) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, int32(h.Type))
	dst = AppendBool(dst, h.Done)
	return AppendInt(dst, int32(h.Err))
}

func (h *MultiHeader) DecodeJute(d *Decoder) {
	h.Type = OpCode(d.Int())
	h.Done = d.Bool()
	h.Err = Code(d.Int())
}

// multiEnd is the header that closes a multi's op or result list.
var multiEnd = MultiHeader{Type: -1, Done: true, Err: -1}
