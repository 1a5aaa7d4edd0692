package znode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// Session is a client session as its record holds it.
type Session struct {
	ID       int64
	Password [16]byte
	// Timeout is the negotiated timeout in ms.
	Timeout int32
	// Conn is the connection that owns the session: the last one that
	// created or resumed it (0: none named). A write through another
	// fails with ErrSessionMoved.
	Conn int64
	// Expiry is the expiry tick the create or resume that returned this
	// indexed (not stored in the record): the entry a later refresh by
	// the same layerd replaces (Beat.Old).
	Expiry int64
	// Zxid is the zxid of the state the create or resume read (ReadZxid
	// of its read version; not stored).
	Zxid int64
}

const sessionRecordLength = 16 + 4 + 8

func (s Session) encode() []byte {
	b := make([]byte, 0, sessionRecordLength)
	b = append(b, s.Password[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(s.Timeout))
	return binary.BigEndian.AppendUint64(b, uint64(s.Conn))
}

func decodeSession(id int64, b []byte) (Session, error) {
	// Records written before Conn have none (20 bytes); one of 21 to 27
	// bytes is cut short, and its Conn would read as 0 (none named).
	if len(b) < 20 || len(b) > 20 && len(b) < sessionRecordLength {
		return Session{}, fmt.Errorf("znode: corrupt session record of %#x (%d bytes)", id, len(b))
	}
	s := Session{ID: id, Timeout: int32(binary.BigEndian.Uint32(b[16:]))}
	copy(s.Password[:], b[:16])
	if len(b) >= 28 {
		s.Conn = int64(binary.BigEndian.Uint64(b[20:]))
	}
	return s, nil
}

var errIDTaken = errors.New("znode: session id taken")

// CreateSession creates a session with a random id and password. Its
// record lives in the store, so any layerd can resume it. The id and
// password are made before the transaction: a retry after
// commit_unknown_result finds its own record instead of making another.
func (tr *Tree) CreateSession(ctx context.Context, timeout int32) (Session, error) {
	return tr.CreateSessionOn(ctx, timeout, 0)
}

// CreateSessionOn is CreateSession for a session owned by connection conn.
func (tr *Tree) CreateSessionOn(ctx context.Context, timeout int32, conn int64) (Session, error) {
	for range 8 {
		var s Session
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return s, err
		}
		s.ID = int64(binary.BigEndian.Uint64(b[:]) &^ (1 << 63))
		if s.ID == 0 || isTTL(s.ID) {
			continue
		}
		if _, err := rand.Read(s.Password[:]); err != nil {
			return s, err
		}
		s.Timeout, s.Conn = timeout, conn
		_, err := store.Transact(ctx, tr.db, func(tx store.Tx) (struct{}, error) {
			b, err := tx.Get(tr.t.Session(s.ID)).Get()
			if err != nil {
				return struct{}{}, err
			}
			if b != nil {
				if old, err := decodeSession(s.ID, b); err == nil && old.Password == s.Password {
					return struct{}{}, nil // ours: the first attempt applied
				}
				return struct{}{}, errIDTaken
			}
			tx.Set(tr.t.Session(s.ID), s.encode())
			now, err := tr.nowTick(tx)
			if err != nil {
				return struct{}{}, err
			}
			s.Expiry = now + tr.TimeoutTicks(timeout)
			tr.refresh(tx, s.ID, s.Expiry, 0)
			s.Zxid, err = readZxid(tx)
			return struct{}{}, err
		})
		if errors.Is(err, errIDTaken) {
			continue
		}
		return s, err
	}
	return Session{}, errIDTaken
}

// ResumeSession checks id and password against the session's record and
// records the newly negotiated timeout. An unknown id or a wrong password
// is ErrSessionExpired.
func (tr *Tree) ResumeSession(ctx context.Context, id int64, password []byte, timeout int32) (Session, error) {
	return tr.ResumeSessionOn(ctx, id, password, timeout, 0)
}

// ResumeSessionOn is ResumeSession by connection conn, which becomes the
// session's owner: writes through the session's earlier connections fail
// with ErrSessionMoved from now on.
func (tr *Tree) ResumeSessionOn(ctx context.Context, id int64, password []byte, timeout int32, conn int64) (Session, error) {
	return store.Transact(ctx, tr.db, func(tx store.Tx) (Session, error) {
		b, err := tx.Get(tr.t.Session(id)).Get()
		if err != nil {
			return Session{}, err
		}
		if b == nil {
			return Session{}, ErrSessionExpired
		}
		s, err := decodeSession(id, b)
		if err != nil {
			return Session{}, err
		}
		if len(password) != len(s.Password) || string(password) != string(s.Password[:]) {
			return Session{}, ErrSessionExpired
		}
		if s.Timeout != timeout || s.Conn != conn {
			s.Timeout, s.Conn = timeout, conn
			tx.Set(tr.t.Session(id), s.encode())
		}
		if conn != 0 {
			// Wake the session's earlier connections, wherever they
			// are: they find it moved and close.
			tx.Atomic(store.Add, tr.t.Notify(id), keys.EncodeInt64(1))
		}
		now, err := tr.nowTick(tx)
		if err != nil {
			return Session{}, err
		}
		s.Expiry = now + tr.TimeoutTicks(timeout)
		tr.refresh(tx, id, s.Expiry, 0)
		s.Zxid, err = readZxid(tx)
		return s, err
	})
}

// CloseSession ends a session: its record goes, its ephemeral nodes are
// deleted (each parent's Stat updated as a client's delete would), in
// one transaction, or several for a session larger than one can hold
// (expiry.go). It returns the last transaction's zxid and the deleted
// paths. Closing a session that is gone is a no-op.
func (tr *Tree) CloseSession(ctx context.Context, id int64) (int64, []string, error) {
	c, err := tr.closeSession(ctx, Conn{Session: id}, keys.Versionstamp{})
	return c.Zxid, c.Deleted, err
}

// Closed is what closing a session did.
type Closed struct {
	Zxid    int64
	Deleted []string // its ephemerals
	// Owed are the events its connection must send before the reply,
	// in order (CloseConn).
	Owed []Event
}

// CloseConn ends the session of connection w at its client's request, as
// ZooKeeper's closeSession does: in one transaction (or several, for a
// large session: expiry.go) its ephemerals are deleted, firing the
// watches of every session, its own included. Owed
// are the events w must send before the reply, as ZooKeeper does: those
// logged for it after cursor and not yet sent, then those its own
// watches fire on its ephemerals' deletion.
func (tr *Tree) CloseConn(ctx context.Context, w Conn, cursor keys.Versionstamp) (Closed, error) {
	return tr.closeSession(ctx, w, cursor)
}

func (tr *Tree) closeSession(ctx context.Context, w Conn, cursor keys.Versionstamp) (Closed, error) {
	var pending []Event
	check := func(tx store.Tx) (bool, bool, error) {
		if w.ID != 0 {
			var err error
			if pending, _, err = tr.readEvents(tx, w, cursor); err != nil {
				return false, false, err
			}
		}
		return true, true, nil
	}
	// In one transaction or, for a large session, several (expiry.go).
	o, err := tr.endSession(ctx, &ending{id: w.Session, conn: w.ID}, check)
	if err != nil {
		return Closed{}, err
	}
	return Closed{Zxid: o.zxid, Deleted: o.gone, Owed: append(pending, o.owed...)}, nil
}
