package storetest

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"zkfdb/shared/store"
)

// The property test runs random transactions from several goroutines over a
// small key space, records what each saw, and checks that the committed
// history is serializable in versionstamp order:
//
//   - every committed write transaction writes a versionstamped log key, so
//     the log lists exactly the committed transactions in commit order;
//   - replaying them in that order on a Go map, each serializable read must
//     equal the state before the transaction plus its own earlier writes,
//     and each snapshot read the state as of its read version (the commits
//     with version ≤ it) plus its own writes;
//   - reads of read-only and conflicted transactions must equal the state as
//     of their read version;
//   - a conflicted transaction must have read a key that a transaction
//     committed after its read version wrote (no false conflicts; exact
//     with one resolver, which the embedded engine models);
//   - the final state equals the replay.

// serialKeys is the size of the key space: keys k/0 … k/7.
const serialKeys = 8

type serialOpKind int

const (
	opGet serialOpKind = iota
	opRange
	opSet
	opClear
	opClearRange
	opAdd
)

type serialOp struct {
	kind       serialOpKind
	snapshot   bool
	key        string // full key, as a string
	begin, end string
	limit      int
	reverse    bool
	param      []byte
	got        []byte
	rows       []store.KeyValue
}

type serialOutcome int

const (
	committed serialOutcome = iota
	conflicted
	readOnly
	unknown // 1021: committed if its log key exists
)

type serialTx struct {
	id      uint32
	rv      int64
	ops     []serialOp
	outcome serialOutcome
	stamp   store.Versionstamp // committed write transactions
}

// state is the key space as a map from key to value.
type state map[string][]byte

func (s state) clone() state {
	c := make(state, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

func (s state) apply(op serialOp) {
	switch op.kind {
	case opSet:
		s[op.key] = op.param
	case opClear:
		delete(s, op.key)
	case opClearRange:
		for k := range s {
			if op.begin <= k && k < op.end {
				delete(s, k)
			}
		}
	case opAdd:
		s[op.key] = addLE(s[op.key], op.param)
	}
}

func (s state) read(op serialOp) ([]byte, []store.KeyValue) {
	if op.kind == opGet {
		return s[op.key], nil
	}
	var keys []string
	for k := range s {
		if op.begin <= k && k < op.end {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if op.reverse {
		slices.Reverse(keys)
	}
	if op.limit > 0 && len(keys) > op.limit {
		keys = keys[:op.limit]
	}
	rows := []store.KeyValue{}
	for _, k := range keys {
		rows = append(rows, store.KeyValue{Key: []byte(k), Value: s[k]})
	}
	return nil, rows
}

// addLE is FDB's ADD: little-endian over len(param) bytes, E fitted to it.
func addLE(e, param []byte) []byte {
	if e == nil {
		return slices.Clone(param)
	}
	out := make([]byte, len(param))
	carry := 0
	for i := range param {
		x := int(param[i]) + carry
		if i < len(e) {
			x += int(e[i])
		}
		out[i] = byte(x)
		carry = x >> 8
	}
	return out
}

func testSerializable(t *testing.T, e *env) {
	workers, per := 6, 150
	if testing.Short() {
		workers, per = 4, 40
	}
	ctx := ctxFor(t, 2*time.Minute)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	kp := e.key("k/")
	logPrefix := e.key("log/")
	keyAt := func(i int) string { return string(kp) + string(rune('0'+i)) }

	var (
		mu  sync.Mutex
		txs []*serialTx
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range per {
				if ctx.Err() != nil {
					return
				}
				rec := &serialTx{id: uint32(w*per + i)}
				if !runSerialTx(t, e, r, rec, keyAt, logPrefix) {
					return
				}
				mu.Lock()
				txs = append(txs, rec)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// The log: committed write transactions in commit order.
	byID := map[uint32]*serialTx{}
	for _, tx := range txs {
		byID[tx.id] = tx
	}
	var order []*serialTx
	logged := map[*serialTx]bool{}
	for _, row := range e.all(t, store.PrefixRange(logPrefix)) {
		if len(row.Key) != len(logPrefix)+10 || len(row.Value) != 4 {
			t.Fatalf("malformed log row %q=%q", row.Key, row.Value)
		}
		tx, ok := byID[binary.BigEndian.Uint32(row.Value)]
		if !ok {
			t.Fatalf("log row for unknown transaction %x", row.Value)
		}
		var stamp store.Versionstamp
		copy(stamp[:], row.Key[len(logPrefix):])
		switch {
		case tx.outcome == unknown:
			tx.outcome, tx.stamp = committed, stamp
		case tx.outcome != committed:
			t.Errorf("transaction %d failed (outcome %d) but its log key %x was written", tx.id, tx.outcome, stamp)
		case tx.stamp != stamp:
			t.Errorf("transaction %d: GetVersionstamp %x, log key stamp %x", tx.id, tx.stamp, stamp)
		}
		if logged[tx] {
			t.Errorf("transaction %d logged twice", tx.id)
		}
		logged[tx] = true
		order = append(order, tx)
	}
	counts := map[serialOutcome]int{}
	for _, tx := range txs {
		counts[tx.outcome]++ // unknown now means: not in the log, did not commit
	}
	if counts[committed] != len(order) {
		t.Errorf("%d transactions committed, %d log keys", counts[committed], len(order))
	}
	t.Logf("%d transactions: %d committed writes, %d read-only, %d conflicted, %d unknown result not committed",
		len(txs), counts[committed], counts[readOnly], counts[conflicted], counts[unknown])

	// Replay in commit order, keeping the state after each commit.
	type version struct {
		cv int64
		st state
	}
	hist := []version{{0, state{}}}
	at := func(rv int64) state {
		i := sort.Search(len(hist), func(i int) bool { return hist[i].cv > rv })
		return hist[i-1].st
	}
	checkReads := func(tx *serialTx, ser, snap state) {
		for j, op := range tx.ops {
			switch op.kind {
			case opGet, opRange:
				from := ser
				if op.snapshot {
					from = snap
				}
				got, rows := from.read(op)
				if op.kind == opGet && !sameValue(got, op.got) {
					t.Errorf("transaction %d (outcome %d, rv %d) op %d: Get %q (snapshot %v) = %s, serial replay says %s",
						tx.id, tx.outcome, tx.rv, j, op.key, op.snapshot, show(op.got), show(got))
				}
				if op.kind == opRange && !kvsEqual(rows, op.rows) {
					t.Errorf("transaction %d (outcome %d, rv %d) op %d: GetRange [%q,%q) limit %d reverse %v snapshot %v = %s, serial replay says %s",
						tx.id, tx.outcome, tx.rv, j, op.begin, op.end, op.limit, op.reverse, op.snapshot,
						e.showRows(op.rows), e.showRows(rows))
				}
			default:
				ser.apply(op)
				if snap != nil {
					snap.apply(op)
				}
			}
		}
	}
	cur := state{}
	for _, tx := range order {
		cv := tx.stamp.Version()
		if tx.rv >= cv {
			t.Errorf("transaction %d: read version %d not below its commit version %d", tx.id, tx.rv, cv)
		}
		ser := cur.clone()
		checkReads(tx, ser, at(tx.rv).clone())
		cur = ser
		hist = append(hist, version{cv, cur})
	}
	for _, tx := range txs {
		if tx.outcome == committed {
			continue
		}
		st := at(tx.rv)
		checkReads(tx, st.clone(), st.clone())
		if tx.outcome == conflicted && !explainsConflict(tx, order) {
			t.Errorf("transaction %d (rv %d) failed with not_committed, but no transaction committed after its read version wrote a key it read", tx.id, tx.rv)
		}
	}

	_, final := cur.read(serialOp{kind: opRange, begin: keyAt(0), end: keyAt(serialKeys)})
	wantKVs(t, "final state against the replay", e.all(t, store.PrefixRange(kp)), final)
}

// runSerialTx runs one random transaction and records it. It returns false
// after an unexpected error (reported).
func runSerialTx(t *testing.T, e *env, r *rand.Rand, rec *serialTx, keyAt func(int) string, logPrefix []byte) bool {
	tx, err := e.db.CreateTransaction(t.Context())
	if err != nil {
		t.Errorf("CreateTransaction: %v", err)
		return false
	}
	defer tx.Close()
	if rec.rv, err = tx.GetReadVersion().Get(); err != nil {
		t.Errorf("GetReadVersion: %v", err)
		return false
	}
	ro := r.IntN(4) == 0
	bound := func() string { return keyAt(r.IntN(serialKeys + 1)) }
	for range 1 + r.IntN(6) {
		var op serialOp
		kind := serialOpKind(r.IntN(6))
		if ro {
			kind = serialOpKind(r.IntN(2))
		}
		op.kind = kind
		op.key = keyAt(r.IntN(serialKeys))
		switch kind {
		case opGet, opRange:
			op.snapshot = r.IntN(3) == 0
			var rd store.Reader = tx
			if op.snapshot {
				rd = tx.Snapshot()
			}
			if kind == opGet {
				op.got, err = rd.Get([]byte(op.key)).Get()
			} else {
				op.begin, op.end = bound(), bound()
				if op.begin > op.end {
					op.begin, op.end = op.end, op.begin
				}
				op.limit = r.IntN(4)
				op.reverse = r.IntN(2) == 0
				op.rows, err = rd.GetRange(store.Range{Begin: []byte(op.begin), End: []byte(op.end)},
					store.RangeOptions{Limit: op.limit, Reverse: op.reverse}).GetSlice()
			}
			if err != nil {
				t.Errorf("transaction %d read: %v", rec.id, err)
				return false
			}
		case opSet:
			op.param = le8(r.Int64N(1000))
			tx.Set([]byte(op.key), op.param)
		case opClear:
			tx.Clear([]byte(op.key))
		case opClearRange:
			op.begin, op.end = bound(), bound()
			if op.begin > op.end {
				op.begin, op.end = op.end, op.begin
			}
			tx.ClearRange(store.Range{Begin: []byte(op.begin), End: []byte(op.end)})
		case opAdd:
			op.param = le8(r.Int64N(10))
			tx.Atomic(store.Add, []byte(op.key), op.param)
		}
		rec.ops = append(rec.ops, op)
	}
	var vs store.FutureVersionstamp
	if !ro {
		tx.SetVersionstampedKey(stampedKey(logPrefix, ""), binary.BigEndian.AppendUint32(nil, rec.id))
		vs = tx.GetVersionstamp()
	}
	err = tx.Commit()
	switch {
	case err == nil && ro:
		rec.outcome = readOnly
		if cv, err := tx.GetCommittedVersion(); err != nil || cv != -1 {
			t.Errorf("read-only commit: GetCommittedVersion = %d, %v; want -1", cv, err)
		}
	case err == nil:
		rec.outcome = committed
		if rec.stamp, err = vs.Get(); err != nil {
			t.Errorf("GetVersionstamp after commit: %v", err)
			return false
		}
		if cv, err := tx.GetCommittedVersion(); err != nil || cv != rec.stamp.Version() {
			t.Errorf("GetCommittedVersion = %d, %v; versionstamp says %d", cv, err, rec.stamp.Version())
		}
	case ro:
		t.Errorf("read-only transaction %d failed to commit: %v", rec.id, err)
		return false
	case store.Code(err) == 1020:
		rec.outcome = conflicted
	case store.Code(err) == 1021:
		rec.outcome = unknown
	default:
		t.Errorf("transaction %d commit: %v", rec.id, err)
		return false
	}
	return true
}

// explainsConflict reports whether some transaction committed after tx's
// read version wrote a key tx read serializably (read ranges taken whole, so
// this over-approximates the conflict ranges and never blames a correct
// engine).
func explainsConflict(tx *serialTx, order []*serialTx) bool {
	for _, u := range order {
		if u.stamp.Version() <= tx.rv {
			continue
		}
		for _, r := range tx.ops {
			if r.snapshot || (r.kind != opGet && r.kind != opRange) {
				continue
			}
			rb, re := r.key, r.key+"\x00"
			if r.kind == opRange {
				rb, re = r.begin, r.end
			}
			for _, w := range u.ops {
				wb, we := w.key, w.key+"\x00"
				switch w.kind {
				case opGet, opRange:
					continue
				case opClearRange:
					wb, we = w.begin, w.end
				}
				if wb < re && rb < we {
					return true
				}
			}
		}
	}
	return false
}

func kvsEqual(a, b []store.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}
