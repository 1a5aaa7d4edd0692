package zkwire

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is wrapped by every decoding error caused by the bytes:
	// a truncated record, an impossible length or count, a bad multi op.
	// ZooKeeper answers these with MARSHALLINGERROR.
	ErrMalformed = errors.New("zkwire: malformed record")

	// ErrFrameTooLarge is wrapped by ReadFrame's error for a frame length
	// below zero or above the limit. ZooKeeper closes the connection
	// without a reply.
	ErrFrameTooLarge = errors.New("zkwire: frame length out of range")

	// ErrUnknownOpcode is wrapped by DecodeRequest's and DecodeResponse's
	// error for an opcode that is not a client request. ZooKeeper answers
	// UNIMPLEMENTED and closes the connection.
	ErrUnknownOpcode = errors.New("zkwire: unknown opcode")
)

// MultiOpError reports an op type that a multi or multiRead may not hold:
// a read in a multi, a write in a multiRead, or an unknown type. ZooKeeper
// answers the whole request with MARSHALLINGERROR. It wraps ErrMalformed.
type MultiOpError struct {
	Multi OpCode // OpMulti or OpMultiRead
	Index int    // the op's position, from 0
	Type  OpCode // the type in the op's MultiHeader
}

func (e *MultiOpError) Error() string {
	return fmt.Sprintf("zkwire: op %d of %s has type %s, which it may not hold", e.Index, e.Multi, e.Type)
}

// Unwrap returns ErrMalformed.
func (e *MultiOpError) Unwrap() error { return ErrMalformed }
