package znode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// Session is a client session as its record holds it.
type Session struct {
	ID       int64
	Password [16]byte
	// Timeout is the negotiated timeout in ms.
	Timeout int32
}

const sessionRecordLength = 16 + 4

func (s Session) encode() []byte {
	b := make([]byte, 0, sessionRecordLength)
	b = append(b, s.Password[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(s.Timeout))
}

func decodeSession(id int64, b []byte) (Session, error) {
	if len(b) < sessionRecordLength {
		return Session{}, fmt.Errorf("znode: corrupt session record of %#x (%d bytes)", id, len(b))
	}
	s := Session{ID: id, Timeout: int32(binary.BigEndian.Uint32(b[16:]))}
	copy(s.Password[:], b[:16])
	return s, nil
}

var errIDTaken = errors.New("znode: session id taken")

// CreateSession creates a session with a random id and password. Its
// record lives in the store, so any layerd can resume it. The id and
// password are made before the transaction: a retry after
// commit_unknown_result finds its own record instead of making another.
func (tr *Tree) CreateSession(ctx context.Context, timeout int32) (Session, error) {
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
		s.Timeout = timeout
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
			tr.refresh(tx, s.ID, now+tr.TimeoutTicks(timeout))
			return struct{}{}, nil
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
		if s.Timeout != timeout {
			s.Timeout = timeout
			tx.Set(tr.t.Session(id), s.encode())
		}
		now, err := tr.nowTick(tx)
		if err != nil {
			return Session{}, err
		}
		tr.refresh(tx, id, now+tr.TimeoutTicks(timeout))
		return s, nil
	})
}

// CloseSession ends a session in one transaction: its ephemeral nodes are
// deleted (each parent's Stat updated as a client's delete would), then
// its record. It returns the transaction's zxid and the deleted paths.
// Closing a session that is gone is a no-op.
func (tr *Tree) CloseSession(ctx context.Context, id int64) (int64, []string, error) {
	var stamp store.FutureVersionstamp
	deleted, err := store.Transact(ctx, tr.db, func(tx store.Tx) ([]string, error) {
		gone, err := tr.endSession(tx, id)
		stamp = tx.GetVersionstamp()
		return gone, err
	})
	if err != nil {
		return 0, nil, err
	}
	own, err := stamp.Get()
	if err != nil {
		return 0, nil, err
	}
	return Zxid(own), deleted, nil
}
