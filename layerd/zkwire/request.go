package zkwire

import "fmt"

// Request is a request body: a Record that knows its opcode.
type Request interface {
	Record
	Opcode() OpCode
}

// Create is the body of create (1); Create2 and CreateContainer share its
// record. Inside a multi, ZooKeeper maps a create whose flags say
// container or TTL to createContainer or createTTL.
type Create struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

func (*Create) Opcode() OpCode { return OpCreate }

func (r *Create) AppendJute(dst []byte) []byte {
	dst = AppendUstring(dst, r.Path)
	dst = AppendBuffer(dst, r.Data)
	dst = appendACLs(dst, r.ACL)
	return AppendInt(dst, r.Flags)
}

func (r *Create) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = d.Int()
}

// Create2 is the body of create2 (15), which replies with the Stat too.
type Create2 Create

func (*Create2) Opcode() OpCode                 { return OpCreate2 }
func (r *Create2) AppendJute(dst []byte) []byte { return (*Create)(r).AppendJute(dst) }
func (r *Create2) DecodeJute(d *Decoder)        { (*Create)(r).DecodeJute(d) }

// CreateContainer is the body of createContainer (19).
type CreateContainer Create

func (*CreateContainer) Opcode() OpCode                 { return OpCreateContainer }
func (r *CreateContainer) AppendJute(dst []byte) []byte { return (*Create)(r).AppendJute(dst) }
func (r *CreateContainer) DecodeJute(d *Decoder)        { (*Create)(r).DecodeJute(d) }

// CreateTTL is the body of createTTL (21). TTL is in ms; other creates
// behave as if it were −1.
type CreateTTL struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

func (*CreateTTL) Opcode() OpCode { return OpCreateTTL }

func (r *CreateTTL) AppendJute(dst []byte) []byte {
	dst = AppendUstring(dst, r.Path)
	dst = AppendBuffer(dst, r.Data)
	dst = appendACLs(dst, r.ACL)
	dst = AppendInt(dst, r.Flags)
	return AppendLong(dst, r.TTL)
}

func (r *CreateTTL) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

// Delete is the body of delete (2). Version −1 matches any version.
type Delete struct {
	Path    string
	Version int32
}

func (*Delete) Opcode() OpCode { return OpDelete }

func (r *Delete) AppendJute(dst []byte) []byte {
	return AppendInt(AppendUstring(dst, r.Path), r.Version)
}

func (r *Delete) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Version = d.Int()
}

// Check is a check (13) op, valid only inside a multi (CheckVersionRequest).
type Check Delete

func (*Check) Opcode() OpCode                 { return OpCheck }
func (r *Check) AppendJute(dst []byte) []byte { return (*Delete)(r).AppendJute(dst) }
func (r *Check) DecodeJute(d *Decoder)        { (*Delete)(r).DecodeJute(d) }

// GetData is the body of getData (4); Exists, GetChildren and GetChildren2
// share its record. Inside a multiRead the watch flag is ignored.
type GetData struct {
	Path  string
	Watch bool
}

func (*GetData) Opcode() OpCode { return OpGetData }

func (r *GetData) AppendJute(dst []byte) []byte {
	return AppendBool(AppendUstring(dst, r.Path), r.Watch)
}

func (r *GetData) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Watch = d.Bool()
}

// Exists is the body of exists (3).
type Exists GetData

func (*Exists) Opcode() OpCode                 { return OpExists }
func (r *Exists) AppendJute(dst []byte) []byte { return (*GetData)(r).AppendJute(dst) }
func (r *Exists) DecodeJute(d *Decoder)        { (*GetData)(r).DecodeJute(d) }

// GetChildren is the body of getChildren (8).
type GetChildren GetData

func (*GetChildren) Opcode() OpCode                 { return OpGetChildren }
func (r *GetChildren) AppendJute(dst []byte) []byte { return (*GetData)(r).AppendJute(dst) }
func (r *GetChildren) DecodeJute(d *Decoder)        { (*GetData)(r).DecodeJute(d) }

// GetChildren2 is the body of getChildren2 (12), which replies with the
// Stat too.
type GetChildren2 GetData

func (*GetChildren2) Opcode() OpCode                 { return OpGetChildren2 }
func (r *GetChildren2) AppendJute(dst []byte) []byte { return (*GetData)(r).AppendJute(dst) }
func (r *GetChildren2) DecodeJute(d *Decoder)        { (*GetData)(r).DecodeJute(d) }

// SetData is the body of setData (5).
type SetData struct {
	Path    string
	Data    []byte
	Version int32
}

func (*SetData) Opcode() OpCode { return OpSetData }

func (r *SetData) AppendJute(dst []byte) []byte {
	dst = AppendUstring(dst, r.Path)
	dst = AppendBuffer(dst, r.Data)
	return AppendInt(dst, r.Version)
}

func (r *SetData) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// GetACL is the body of getACL (6); Sync, GetAllChildrenNumber and
// DeleteContainer share its record.
type GetACL struct {
	Path string
}

func (*GetACL) Opcode() OpCode { return OpGetACL }

func (r *GetACL) AppendJute(dst []byte) []byte { return AppendUstring(dst, r.Path) }
func (r *GetACL) DecodeJute(d *Decoder)        { r.Path = d.Ustring() }

// Sync is the body of sync (9).
type Sync GetACL

func (*Sync) Opcode() OpCode                 { return OpSync }
func (r *Sync) AppendJute(dst []byte) []byte { return (*GetACL)(r).AppendJute(dst) }
func (r *Sync) DecodeJute(d *Decoder)        { (*GetACL)(r).DecodeJute(d) }

// GetAllChildrenNumber is the body of getAllChildrenNumber (104).
type GetAllChildrenNumber GetACL

func (*GetAllChildrenNumber) Opcode() OpCode { return OpGetAllChildrenNumber }
func (r *GetAllChildrenNumber) AppendJute(dst []byte) []byte {
	return (*GetACL)(r).AppendJute(dst)
}
func (r *GetAllChildrenNumber) DecodeJute(d *Decoder) { (*GetACL)(r).DecodeJute(d) }

// DeleteContainer is the body of deleteContainer (20).
type DeleteContainer GetACL

func (*DeleteContainer) Opcode() OpCode                 { return OpDeleteContainer }
func (r *DeleteContainer) AppendJute(dst []byte) []byte { return (*GetACL)(r).AppendJute(dst) }
func (r *DeleteContainer) DecodeJute(d *Decoder)        { (*GetACL)(r).DecodeJute(d) }

// GetEphemerals is the body of getEphemerals (103).
type GetEphemerals struct {
	PrefixPath string
}

func (*GetEphemerals) Opcode() OpCode                 { return OpGetEphemerals }
func (r *GetEphemerals) AppendJute(dst []byte) []byte { return AppendUstring(dst, r.PrefixPath) }
func (r *GetEphemerals) DecodeJute(d *Decoder)        { r.PrefixPath = d.Ustring() }

// SetACL is the body of setACL (7). Version is compared with the aversion.
type SetACL struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (*SetACL) Opcode() OpCode { return OpSetACL }

func (r *SetACL) AppendJute(dst []byte) []byte {
	dst = AppendUstring(dst, r.Path)
	dst = appendACLs(dst, r.ACL)
	return AppendInt(dst, r.Version)
}

func (r *SetACL) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.ACL = decodeACLs(d)
	r.Version = d.Int()
}

// CheckWatches is the body of checkWatches (17); Type is a Watcher*
// constant.
type CheckWatches struct {
	Path string
	Type int32
}

func (*CheckWatches) Opcode() OpCode { return OpCheckWatches }

func (r *CheckWatches) AppendJute(dst []byte) []byte {
	return AppendInt(AppendUstring(dst, r.Path), r.Type)
}

func (r *CheckWatches) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Type = d.Int()
}

// RemoveWatches is the body of removeWatches (18).
type RemoveWatches CheckWatches

func (*RemoveWatches) Opcode() OpCode                 { return OpRemoveWatches }
func (r *RemoveWatches) AppendJute(dst []byte) []byte { return (*CheckWatches)(r).AppendJute(dst) }
func (r *RemoveWatches) DecodeJute(d *Decoder)        { (*CheckWatches)(r).DecodeJute(d) }

// AddWatch is the body of addWatch (106); Mode is AddWatchPersistent or
// AddWatchPersistentRecursive.
type AddWatch struct {
	Path string
	Mode int32
}

func (*AddWatch) Opcode() OpCode { return OpAddWatch }

func (r *AddWatch) AppendJute(dst []byte) []byte {
	return AppendInt(AppendUstring(dst, r.Path), r.Mode)
}

func (r *AddWatch) DecodeJute(d *Decoder) {
	r.Path = d.Ustring()
	r.Mode = d.Int()
}

// Auth is the body of auth (100), an AuthPacket. Type is 0.
type Auth struct {
	Type   int32
	Scheme string
	Auth   []byte
}

func (*Auth) Opcode() OpCode { return OpAuth }

func (r *Auth) AppendJute(dst []byte) []byte {
	dst = AppendInt(dst, r.Type)
	dst = AppendUstring(dst, r.Scheme)
	return AppendBuffer(dst, r.Auth)
}

func (r *Auth) DecodeJute(d *Decoder) {
	r.Type = d.Int()
	r.Scheme = d.Ustring()
	r.Auth = d.Buffer()
}

// SetWatches is the body of setWatches (101), sent after a reconnect.
type SetWatches struct {
	RelativeZxid int64
	Data         []string
	Exist        []string
	Child        []string
}

func (*SetWatches) Opcode() OpCode { return OpSetWatches }

func (r *SetWatches) AppendJute(dst []byte) []byte {
	dst = AppendLong(dst, r.RelativeZxid)
	dst = AppendStrings(dst, r.Data)
	dst = AppendStrings(dst, r.Exist)
	return AppendStrings(dst, r.Child)
}

func (r *SetWatches) DecodeJute(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.Data = d.Strings()
	r.Exist = d.Strings()
	r.Child = d.Strings()
}

// SetWatches2 is the body of setWatches2 (105): SetWatches plus persistent
// and persistent recursive watches.
type SetWatches2 struct {
	RelativeZxid        int64
	Data                []string
	Exist               []string
	Child               []string
	Persistent          []string
	PersistentRecursive []string
}

func (*SetWatches2) Opcode() OpCode { return OpSetWatches2 }

func (r *SetWatches2) AppendJute(dst []byte) []byte {
	dst = AppendLong(dst, r.RelativeZxid)
	dst = AppendStrings(dst, r.Data)
	dst = AppendStrings(dst, r.Exist)
	dst = AppendStrings(dst, r.Child)
	dst = AppendStrings(dst, r.Persistent)
	return AppendStrings(dst, r.PersistentRecursive)
}

func (r *SetWatches2) DecodeJute(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.Data = d.Strings()
	r.Exist = d.Strings()
	r.Child = d.Strings()
	r.Persistent = d.Strings()
	r.PersistentRecursive = d.Strings()
}

// Reconfig is the body of reconfig (16).
type Reconfig struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

func (*Reconfig) Opcode() OpCode { return OpReconfig }

func (r *Reconfig) AppendJute(dst []byte) []byte {
	dst = AppendUstring(dst, r.JoiningServers)
	dst = AppendUstring(dst, r.LeavingServers)
	dst = AppendUstring(dst, r.NewMembers)
	return AppendLong(dst, r.CurConfigID)
}

func (r *Reconfig) DecodeJute(d *Decoder) {
	r.JoiningServers = d.Ustring()
	r.LeavingServers = d.Ustring()
	r.NewMembers = d.Ustring()
	r.CurConfigID = d.Long()
}

// SASL is the body of sasl (102), a GetSASLRequest.
type SASL struct {
	Token []byte
}

func (*SASL) Opcode() OpCode                 { return OpSASL }
func (r *SASL) AppendJute(dst []byte) []byte { return AppendBuffer(dst, r.Token) }
func (r *SASL) DecodeJute(d *Decoder)        { r.Token = d.Buffer() }

// Ping is ping (11), which has no body. Clients send it with xid XidPing.
type Ping struct{}

func (*Ping) Opcode() OpCode               { return OpPing }
func (*Ping) AppendJute(dst []byte) []byte { return dst }
func (*Ping) DecodeJute(*Decoder)          {}

// CloseSession is closeSession (−11), which has no body.
type CloseSession struct{}

func (*CloseSession) Opcode() OpCode               { return OpCloseSession }
func (*CloseSession) AppendJute(dst []byte) []byte { return dst }
func (*CloseSession) DecodeJute(*Decoder)          {}

// WhoAmI is whoAmI (107), which has no body.
type WhoAmI struct{}

func (*WhoAmI) Opcode() OpCode               { return OpWhoAmI }
func (*WhoAmI) AppendJute(dst []byte) []byte { return dst }
func (*WhoAmI) DecodeJute(*Decoder)          {}

// Raw is a request of any opcode with a body given as bytes. DecodeRequest
// never returns it; test clients use it to send what no typed request can,
// such as a multi op of an unknown type.
type Raw struct {
	Op   OpCode
	Body []byte
}

func (r *Raw) Opcode() OpCode               { return r.Op }
func (r *Raw) AppendJute(dst []byte) []byte { return append(dst, r.Body...) }

// DecodeJute takes all the bytes left.
func (r *Raw) DecodeJute(d *Decoder) {
	r.Body = append([]byte{}, d.take(d.Remaining(), "raw")...)
}

// newRequest returns an empty request of a type a client may send at the
// top level, or nil.
func newRequest(op OpCode) Request {
	switch op {
	case OpCreate:
		return new(Create)
	case OpDelete:
		return new(Delete)
	case OpExists:
		return new(Exists)
	case OpGetData:
		return new(GetData)
	case OpSetData:
		return new(SetData)
	case OpGetACL:
		return new(GetACL)
	case OpSetACL:
		return new(SetACL)
	case OpGetChildren:
		return new(GetChildren)
	case OpSync:
		return new(Sync)
	case OpPing:
		return new(Ping)
	case OpGetChildren2:
		return new(GetChildren2)
	case OpMulti:
		return new(Multi)
	case OpCreate2:
		return new(Create2)
	case OpReconfig:
		return new(Reconfig)
	case OpCheckWatches:
		return new(CheckWatches)
	case OpRemoveWatches:
		return new(RemoveWatches)
	case OpCreateContainer:
		return new(CreateContainer)
	case OpDeleteContainer:
		return new(DeleteContainer)
	case OpCreateTTL:
		return new(CreateTTL)
	case OpMultiRead:
		return new(MultiRead)
	case OpAuth:
		return new(Auth)
	case OpSetWatches:
		return new(SetWatches)
	case OpSASL:
		return new(SASL)
	case OpGetEphemerals:
		return new(GetEphemerals)
	case OpGetAllChildrenNumber:
		return new(GetAllChildrenNumber)
	case OpSetWatches2:
		return new(SetWatches2)
	case OpAddWatch:
		return new(AddWatch)
	case OpWhoAmI:
		return new(WhoAmI)
	case OpCloseSession:
		return new(CloseSession)
	}
	return nil
}

// DecodeRequest decodes the body of a request of type op. Bytes after the
// record are ignored, as ZooKeeper ignores them.
//
// An op that is not a client request is an error wrapping
// ErrUnknownOpcode: notification (0), error (−1), createSession (−10),
// check (13, valid only inside a multi) and every number ZooKeeper does
// not define. A body that does not decode is an error wrapping
// ErrMalformed; for a multi or multiRead holding an op it may not hold,
// the error is a *MultiOpError.
func DecodeRequest(op OpCode, body []byte) (Request, error) {
	r := newRequest(op)
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownOpcode, op)
	}
	if err := Decode(body, r); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}
