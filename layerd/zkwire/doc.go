// Package zkwire is the jute codec of ZooKeeper 3.9's client protocol: the
// frames, headers, requests and responses that unmodified ZooKeeper clients
// (3.4 to 3.9) exchange with a server. It has no networking beyond framing
// and no server logic.
//
// # Encoding
//
// Every record implements [Record]: AppendJute appends its jute encoding,
// DecodeJute reads it from a [Decoder]. Jute's primitives are int (4 bytes
// big-endian), long (8 bytes), bool (1 byte), buffer and ustring (an int
// length and the bytes, −1 for null) and vector (an int count and the items,
// −1 for null); a record is its fields in order.
//
// Null and empty are kept apart everywhere they can be: a nil []byte or
// slice is encoded as −1 and decoding −1 gives nil, while an empty non-nil
// value is encoded with length 0 and decodes as non-nil. ZooKeeper keeps
// null node data null, and never sends a null list in a reply, so replies
// built by a server should use empty, non-nil slices for lists. Strings are
// Go strings: a null ustring decodes as "" and "" is encoded with length 0.
// Strings are not checked for valid UTF-8; Java decodes malformed UTF-8 as
// U+FFFD, which ZooKeeper's path validation then rejects, so a server
// validating paths should reject invalid UTF-8 too.
//
// # Decoding untrusted bytes
//
// Decoders never panic. Lengths and counts are checked against the bytes
// left in the input before anything is allocated, so one field never takes
// more memory than its frame; a negative length other than −1 is refused
// (Java would take a negative vector count as empty). Errors wrap
// [ErrMalformed], which a server answers with MARSHALLINGERROR. Bytes left
// over after a record are ignored, as ZooKeeper's server ignores them
// (ByteBufferInputStream.byteBuffer2Record reads the fields it needs and
// stops).
//
// # Frames
//
// Every message in both directions is a 4-byte big-endian length and a
// payload ([ReadFrame], [AppendFrame], [WriteFrame]). The first client frame
// is a [ConnectRequest] and the first server frame a [ConnectResponse];
// after that, client frames are a [RequestHeader] and a request record
// ([DecodeRequest], [AppendRequest]) and server frames a [ReplyHeader] and a
// response record ([AppendReply], [DecodeResponse]). Watch notifications are
// replies with xid [XidNotification] and a [WatcherEvent].
//
// Nothing here keeps state; every function is safe for concurrent use. A
// [Decoder] is not.
package zkwire
