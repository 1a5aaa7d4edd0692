package store

import "testing"

// nopTx is a Tx whose writes do nothing: WriteTracker's test needs only
// its methods.
type nopTx struct{ Tx }

func (nopTx) Set([]byte, []byte)                    {}
func (nopTx) Clear([]byte)                          {}
func (nopTx) ClearRange(Range)                      {}
func (nopTx) Atomic(MutationType, []byte, []byte)   {}
func (nopTx) SetVersionstampedKey([]byte, []byte)   {}
func (nopTx) SetVersionstampedValue([]byte, []byte) {}
func (nopTx) AddWriteConflictRange(Range) error     { return nil }
func (nopTx) AddWriteConflictKey([]byte) error      { return nil }

// TestWriteTracker: every kind of write marks the attempt as writing, and
// NewAttempt clears it.
func TestWriteTracker(t *testing.T) {
	for name, write := range map[string]func(*WriteTracker){
		"Set":                    func(w *WriteTracker) { w.Set(nil, nil) },
		"Clear":                  func(w *WriteTracker) { w.Clear(nil) },
		"ClearRange":             func(w *WriteTracker) { w.ClearRange(Range{}) },
		"Atomic":                 func(w *WriteTracker) { w.Atomic(Add, nil, nil) },
		"SetVersionstampedKey":   func(w *WriteTracker) { w.SetVersionstampedKey(nil, nil) },
		"SetVersionstampedValue": func(w *WriteTracker) { w.SetVersionstampedValue(nil, nil) },
		"AddWriteConflictRange":  func(w *WriteTracker) { w.AddWriteConflictRange(Range{}) },
		"AddWriteConflictKey":    func(w *WriteTracker) { w.AddWriteConflictKey(nil) },
	} {
		w := &WriteTracker{Tx: nopTx{}}
		if w.Writes() {
			t.Fatalf("%s: a new attempt writes", name)
		}
		write(w)
		if !w.Writes() {
			t.Errorf("%s is not noted as a write", name)
		}
		w.NewAttempt()
		if w.Writes() {
			t.Errorf("after %s, NewAttempt left the attempt writing", name)
		}
	}
}
