package zkwire

import "fmt"

// CreateResponse is the reply body of create (1).
type CreateResponse struct {
	Path string // the created path, with any sequence suffix
}

func (r *CreateResponse) AppendJute(dst []byte) []byte { return AppendUstring(dst, r.Path) }
func (r *CreateResponse) DecodeJute(d *Decoder)        { r.Path = d.Ustring() }

// Create2Response is the reply body of create2, createContainer and
// createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) AppendJute(dst []byte) []byte {
	return r.Stat.AppendJute(AppendUstring(dst, r.Path))
}

func (r *Create2Response) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Stat.DecodeJute(d)
}

// StatResponse is the reply body of exists, setData and setACL, which is
// just a Stat.
type StatResponse struct {
	Stat Stat
}

func (r *StatResponse) AppendJute(dst []byte) []byte { return r.Stat.AppendJute(dst) }
func (r *StatResponse) DecodeJute(d *Decoder)        { r.Stat.DecodeJute(d) }

// ExistsResponse is the reply body of exists (3).
type ExistsResponse = StatResponse

// SetDataResponse is the reply body of setData (5).
type SetDataResponse = StatResponse

// SetACLResponse is the reply body of setACL (7).
type SetACLResponse = StatResponse

// GetDataResponse is the reply body of getData (4) and of reconfig (16).
// Null node data stays null: Data nil is sent as length −1.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) AppendJute(dst []byte) []byte {
	return r.Stat.AppendJute(AppendBuffer(dst, r.Data))
}

func (r *GetDataResponse) DecodeJute(d *Decoder) {
	r.Data = d.Buffer()
	r.Stat.DecodeJute(d)
}

// GetACLResponse is the reply body of getACL (6).
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) AppendJute(dst []byte) []byte {
	return r.Stat.AppendJute(appendACLs(dst, r.ACL))
}

func (r *GetACLResponse) DecodeJute(d *Decoder) {
	r.ACL = decodeACLs(d)
	r.Stat.DecodeJute(d)
}

// GetChildrenResponse is the reply body of getChildren (8). Children nil
// is sent as a null vector, which ZooKeeper never sends: use an empty
// slice for a node without children.
type GetChildrenResponse struct {
	Children []string
}

func (r *GetChildrenResponse) AppendJute(dst []byte) []byte {
	return AppendStrings(dst, r.Children)
}
func (r *GetChildrenResponse) DecodeJute(d *Decoder) { r.Children = d.Strings() }

// GetChildren2Response is the reply body of getChildren2 (12). As in
// GetChildrenResponse, use an empty slice, not nil, for no children.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

func (r *GetChildren2Response) AppendJute(dst []byte) []byte {
	return r.Stat.AppendJute(AppendStrings(dst, r.Children))
}

func (r *GetChildren2Response) DecodeJute(d *Decoder) {
	r.Children = d.Strings()
	r.Stat.DecodeJute(d)
}

// SyncResponse is the reply body of sync (9): the request's path.
type SyncResponse struct {
	Path string
}

func (r *SyncResponse) AppendJute(dst []byte) []byte { return AppendUstring(dst, r.Path) }
func (r *SyncResponse) DecodeJute(d *Decoder)        { r.Path = d.Ustring() }

// GetEphemeralsResponse is the reply body of getEphemerals (103). Use an
// empty slice, not nil, for none.
type GetEphemeralsResponse struct {
	Ephemerals []string
}

func (r *GetEphemeralsResponse) AppendJute(dst []byte) []byte {
	return AppendStrings(dst, r.Ephemerals)
}
func (r *GetEphemeralsResponse) DecodeJute(d *Decoder) { r.Ephemerals = d.Strings() }

// GetAllChildrenNumberResponse is the reply body of getAllChildrenNumber
// (104).
type GetAllChildrenNumberResponse struct {
	TotalNumber int32
}

func (r *GetAllChildrenNumberResponse) AppendJute(dst []byte) []byte {
	return AppendInt(dst, r.TotalNumber)
}
func (r *GetAllChildrenNumberResponse) DecodeJute(d *Decoder) { r.TotalNumber = d.Int() }

// ErrorResponse is a record of one error code. It ends each error result
// of a multi, and addWatch (106) replies with ErrorResponse{CodeOK}: four
// zero bytes.
type ErrorResponse struct {
	Err Code
}

func (r *ErrorResponse) AppendJute(dst []byte) []byte { return AppendInt(dst, int32(r.Err)) }
func (r *ErrorResponse) DecodeJute(d *Decoder)        { r.Err = Code(d.Int()) }

// ClientInfo is one identity of a connection, as whoAmI reports it.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse is the reply body of whoAmI (107). Use an empty slice, not
// nil, for none.
type WhoAmIResponse struct {
	ClientInfo []ClientInfo
}

func (r *WhoAmIResponse) AppendJute(dst []byte) []byte {
	if r.ClientInfo == nil {
		return AppendInt(dst, -1)
	}
	dst = AppendInt(dst, int32(len(r.ClientInfo)))
	for _, c := range r.ClientInfo {
		dst = AppendUstring(dst, c.AuthScheme)
		dst = AppendUstring(dst, c.User)
	}
	return dst
}

func (r *WhoAmIResponse) DecodeJute(d *Decoder) {
	r.ClientInfo = nil
	n, null := d.VectorLen(8)
	if null || d.Err() != nil {
		return
	}
	infos := make([]ClientInfo, n)
	for i := range infos {
		infos[i] = ClientInfo{AuthScheme: d.Ustring(), User: d.Ustring()}
	}
	if d.Err() == nil {
		r.ClientInfo = infos
	}
}

// SASLResponse is the reply body of sasl (102), a SetSASLResponse.
type SASLResponse struct {
	Token []byte
}

func (r *SASLResponse) AppendJute(dst []byte) []byte { return AppendBuffer(dst, r.Token) }
func (r *SASLResponse) DecodeJute(d *Decoder)        { r.Token = d.Buffer() }

// newResponse returns an empty reply body for requests of type op, nil
// for requests whose success reply has no body, and ok false for an op
// that is not a client request.
func newResponse(op OpCode) (r Record, ok bool) {
	switch op {
	case OpCreate:
		return new(CreateResponse), true
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return new(Create2Response), true
	case OpExists, OpSetData, OpSetACL:
		return new(StatResponse), true
	case OpGetData, OpReconfig:
		return new(GetDataResponse), true
	case OpGetACL:
		return new(GetACLResponse), true
	case OpGetChildren:
		return new(GetChildrenResponse), true
	case OpGetChildren2:
		return new(GetChildren2Response), true
	case OpSync:
		return new(SyncResponse), true
	case OpMulti, OpMultiRead:
		return new(MultiResponse), true
	case OpGetEphemerals:
		return new(GetEphemeralsResponse), true
	case OpGetAllChildrenNumber:
		return new(GetAllChildrenNumberResponse), true
	case OpAddWatch:
		return new(ErrorResponse), true
	case OpWhoAmI:
		return new(WhoAmIResponse), true
	case OpSASL:
		return new(SASLResponse), true
	case OpDelete, OpPing, OpCheckWatches, OpRemoveWatches, OpDeleteContainer,
		OpAuth, OpSetWatches, OpSetWatches2, OpCloseSession:
		return nil, true
	}
	return nil, false
}

// DecodeResponse decodes the body of a successful reply to a request of
// type op; it returns nil for requests whose reply has no body (delete,
// ping, auth, setWatches, …). Error replies have no body, except those of
// multi and multiRead, so callers decode a body only when the reply header's
// err is CodeOK or the body is not empty. The types returned are
// *CreateResponse, *Create2Response (create2, createContainer,
// createTTL), *StatResponse (exists, setData, setACL), *GetDataResponse
// (getData, reconfig), *GetACLResponse, *GetChildrenResponse,
// *GetChildren2Response, *SyncResponse, *MultiResponse, *GetEphemeralsResponse,
// *GetAllChildrenNumberResponse, *ErrorResponse (addWatch),
// *WhoAmIResponse and *SASLResponse. Errors wrap ErrMalformed or
// ErrUnknownOpcode.
func DecodeResponse(op OpCode, body []byte) (Record, error) {
	r, ok := newResponse(op)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownOpcode, op)
	}
	if r == nil {
		return nil, nil
	}
	if err := Decode(body, r); err != nil {
		return nil, fmt.Errorf("%s reply: %w", op, err)
	}
	return r, nil
}
