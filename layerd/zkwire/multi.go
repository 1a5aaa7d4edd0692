package zkwire

// Multi is the body of multi (14): write ops applied atomically. Each op is
// a *Create, *Create2, *CreateContainer, *CreateTTL, *Delete, *SetData or
// *Check. Encoding writes whatever ops it holds, each preceded by
// MultiHeader{op.Opcode(), false, −1}; decoding accepts only those types.
type Multi struct {
	Ops []Request
}

func (*Multi) Opcode() OpCode                 { return OpMulti }
func (r *Multi) AppendJute(dst []byte) []byte { return appendOps(dst, r.Ops) }
func (r *Multi) DecodeJute(d *Decoder)        { r.Ops = decodeOps(d, OpMulti) }

// MultiRead is the body of multiRead (22): read ops on one state, each
// a *GetData or *GetChildren, answered one by one.
type MultiRead struct {
	Ops []Request
}

func (*MultiRead) Opcode() OpCode                 { return OpMultiRead }
func (r *MultiRead) AppendJute(dst []byte) []byte { return appendOps(dst, r.Ops) }
func (r *MultiRead) DecodeJute(d *Decoder)        { r.Ops = decodeOps(d, OpMultiRead) }

func appendOps(dst []byte, ops []Request) []byte {
	for _, op := range ops {
		h := MultiHeader{Type: op.Opcode(), Err: -1}
		dst = h.AppendJute(dst)
		dst = op.AppendJute(dst)
	}
	return multiEnd.AppendJute(dst)
}

// newMultiOp returns an empty op of a type that kind (OpMulti or
// OpMultiRead) may hold, or nil.
func newMultiOp(kind, t OpCode) Request {
	if kind == OpMultiRead {
		switch t {
		case OpGetData:
			return new(GetData)
		case OpGetChildren:
			return new(GetChildren)
		}
		return nil
	}
	switch t {
	case OpCreate:
		return new(Create)
	case OpCreate2:
		return new(Create2)
	case OpCreateContainer:
		return new(CreateContainer)
	case OpCreateTTL:
		return new(CreateTTL)
	case OpDelete:
		return new(Delete)
	case OpSetData:
		return new(SetData)
	case OpCheck:
		return new(Check)
	}
	return nil
}

// decodeOps reads ops until a header with done set, as ZooKeeper's
// MultiOperationRecord does (the terminator's type and err are not
// checked). An empty list decodes as nil.
func decodeOps(d *Decoder, kind OpCode) []Request {
	var ops []Request
	for i := 0; ; i++ {
		var h MultiHeader
		h.DecodeJute(d)
		if d.Err() != nil {
			return nil
		}
		if h.Done {
			return ops
		}
		op := newMultiOp(kind, h.Type)
		if op == nil {
			d.Fail(&MultiOpError{Multi: kind, Index: i, Type: h.Type})
			return nil
		}
		op.DecodeJute(d)
		if d.Err() != nil {
			return nil
		}
		ops = append(ops, op)
	}
}

// OpResult is one result of a multi or multiRead. Type says which fields
// are set:
//
//	OpCreate              Path
//	OpCreate2             Path, Stat (also for createContainer and createTTL)
//	OpDelete, OpCheck     nothing
//	OpSetData             Stat
//	OpGetData             Data, Stat
//	OpGetChildren         Children
//	OpError               Err
//
// A failed multi has an OpError result for every op: CodeOK before the
// failing op, its error, then CodeRuntimeInconsistency.
type OpResult struct {
	Type     OpCode
	Err      Code
	Path     string
	Stat     Stat
	Data     []byte
	Children []string
}

// MultiResponse is the reply body of multi and multiRead, sent even when an
// op failed (the reply header's err stays 0). A multi that does not decode
// (a *MultiOpError, or a truncated body) is answered with err
// MARSHALLINGERROR and no body at all, as ZooKeeper 3.8.0 was seen to do.
type MultiResponse struct {
	Results []OpResult
}

// AppendJute writes each result as MultiHeader{Type, false, err} (err is
// 0 except for OpError) and its record, then the terminator. A result of
// a type not listed on OpResult gets no record.
func (r *MultiResponse) AppendJute(dst []byte) []byte {
	for i := range r.Results {
		res := &r.Results[i]
		h := MultiHeader{Type: res.Type}
		if res.Type == OpError {
			h.Err = res.Err
		}
		dst = h.AppendJute(dst)
		switch res.Type {
		case OpCreate:
			dst = AppendUstring(dst, res.Path)
		case OpCreate2:
			dst = AppendUstring(dst, res.Path)
			dst = res.Stat.AppendJute(dst)
		case OpSetData:
			dst = res.Stat.AppendJute(dst)
		case OpGetData:
			dst = AppendBuffer(dst, res.Data)
			dst = res.Stat.AppendJute(dst)
		case OpGetChildren:
			dst = AppendStrings(dst, res.Children)
		case OpError:
			dst = AppendInt(dst, int32(res.Err))
		}
	}
	return multiEnd.AppendJute(dst)
}

// DecodeJute reads results until a header with done set. For OpError the
// code is taken from the ErrorResponse record, as Java clients do.
func (r *MultiResponse) DecodeJute(d *Decoder) {
	r.Results = nil
	for {
		var h MultiHeader
		h.DecodeJute(d)
		if d.Err() != nil {
			r.Results = nil
			return
		}
		if h.Done {
			return
		}
		res := OpResult{Type: h.Type}
		switch h.Type {
		case OpCreate:
			res.Path = d.Ustring()
		case OpCreate2:
			res.Path = d.Ustring()
			res.Stat.DecodeJute(d)
		case OpDelete, OpCheck:
		case OpSetData:
			res.Stat.DecodeJute(d)
		case OpGetData:
			res.Data = d.Buffer()
			res.Stat.DecodeJute(d)
		case OpGetChildren:
			res.Children = d.Strings()
		case OpError:
			res.Err = Code(d.Int())
		default:
			d.failf("multi result of type %s", h.Type)
		}
		if d.Err() != nil {
			r.Results = nil
			return
		}
		r.Results = append(r.Results, res)
	}
}
