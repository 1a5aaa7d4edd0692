package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"zkfdb/shared/store"
)

type atomicStep struct {
	op    store.MutationType
	param []byte
}

// atomicCases are FDB-SEMANTICS §4's byte rules: E is the stored value (nil:
// absent, which is not the same as empty), L = len(param).
var atomicCases = []struct {
	name  string
	init  []byte // nil: absent
	steps []atomicStep
	want  []byte // nil: absent
}{
	{"add absent", nil, one(store.Add, 0x01, 0x02), b(0x01, 0x02)},
	{"add empty E", b(), one(store.Add, 0x01, 0x02), b(0x01, 0x02)},
	{"add carry", b(0xff, 0x00), one(store.Add, 0x01, 0x00), b(0x00, 0x01)},
	{"add carry dropped", b(0xff, 0xff), one(store.Add, 0x01, 0x00), b(0x00, 0x00)},
	{"add shorter E zero-padded", b(0xff), one(store.Add, 0x01, 0x00, 0x00), b(0x00, 0x01, 0x00)},
	{"add longer E truncated", b(0x01, 0x02, 0x03), one(store.Add, 0x01), b(0x02)},
	{"add -1 + 1", le8(-1), []atomicStep{{store.Add, le8(1)}}, le8(0)},
	{"add 2 + -5", le8(2), []atomicStep{{store.Add, le8(-5)}}, le8(-3)},
	{"add empty param on present", b(0x01, 0x02), one(store.Add), b()},
	{"add empty param on absent", nil, one(store.Add), b()},

	{"bit_and absent", nil, one(store.BitAnd, 0x0f), b(0x0f)},
	{"bit_and shorter E", b(0xff, 0x0f), one(store.BitAnd, 0x0f, 0xff, 0xff), b(0x0f, 0x0f, 0x00)},
	{"bit_and longer E", b(0xff, 0xff, 0xff), one(store.BitAnd, 0x0f), b(0x0f)},
	{"bit_and empty param", b(0x01), one(store.BitAnd), b()},
	{"bit_or absent", nil, one(store.BitOr, 0x01), b(0x01)},
	{"bit_or shorter E", b(0xf0), one(store.BitOr, 0x0f, 0x01), b(0xff, 0x01)},
	{"bit_or longer E", b(0xf0, 0x01), one(store.BitOr, 0x0f), b(0xff)},
	{"bit_xor absent", nil, one(store.BitXor, 0x05), b(0x05)},
	{"bit_xor", b(0xff, 0x0f), one(store.BitXor, 0x0f, 0x0f), b(0xf0, 0x00)},
	{"bit_xor shorter E", b(0xff), one(store.BitXor, 0x0f, 0x0f), b(0xf0, 0x0f)},

	{"max absent", nil, one(store.Max, 0x01, 0x00), b(0x01, 0x00)},
	{"max param wins", b(0x01, 0x00), one(store.Max, 0x00, 0x01), b(0x00, 0x01)},
	{"max E wins", b(0x00, 0x02), one(store.Max, 0xff, 0x01), b(0x00, 0x02)},
	{"max unsigned", b(0xff), one(store.Max, 0x7f), b(0xff)},
	{"max longer E truncated, param wins", b(0x05, 0x00, 0x01), one(store.Max, 0x06, 0x00), b(0x06, 0x00)},
	{"max longer E truncated, E wins", b(0x07, 0x00, 0x01), one(store.Max, 0x06, 0x00), b(0x07, 0x00)},
	{"max shorter E, param wins", b(0xff), one(store.Max, 0x00, 0x01), b(0x00, 0x01)},
	{"max shorter E, E wins padded", b(0x05), one(store.Max, 0x04, 0x00), b(0x05, 0x00)},
	{"max empty param", b(0x05), one(store.Max), b()},
	{"min absent", nil, one(store.Min, 0x01), b(0x01)},
	{"min E wins", b(0x01, 0x00), one(store.Min, 0x00, 0x01), b(0x01, 0x00)},
	{"min param wins", b(0x00, 0x01), one(store.Min, 0x01, 0x00), b(0x01, 0x00)},
	{"min unsigned", b(0xff), one(store.Min, 0x7f), b(0x7f)},
	{"min shorter E padded", b(0xff), one(store.Min, 0x00, 0x01), b(0xff, 0x00)},
	{"min longer E truncated", b(0x01, 0x00, 0x09), one(store.Min, 0x02, 0x00), b(0x01, 0x00)},
	{"min empty param", b(0x05), one(store.Min), b()},

	{"byte_max absent", nil, []atomicStep{{store.ByteMax, []byte("b")}}, []byte("b")},
	{"byte_max param wins", []byte("abc"), []atomicStep{{store.ByteMax, []byte("abd")}}, []byte("abd")},
	{"byte_max E wins", []byte("abd"), []atomicStep{{store.ByteMax, []byte("abc")}}, []byte("abd")},
	{"byte_max longer wins", []byte("ab"), []atomicStep{{store.ByteMax, []byte("abc")}}, []byte("abc")},
	{"byte_max shorter E kept", []byte("b"), []atomicStep{{store.ByteMax, []byte("abc")}}, []byte("b")},
	{"byte_min absent", nil, []atomicStep{{store.ByteMin, []byte("z")}}, []byte("z")},
	{"byte_min prefix wins", []byte("abc"), []atomicStep{{store.ByteMin, []byte("ab")}}, []byte("ab")},
	{"byte_min E wins", []byte("ab"), []atomicStep{{store.ByteMin, []byte("abc")}}, []byte("ab")},
	{"byte_min empty E", b(), []atomicStep{{store.ByteMin, []byte("a")}}, b()},

	{"compare_and_clear equal", []byte("x"), []atomicStep{{store.CompareAndClear, []byte("x")}}, nil},
	{"compare_and_clear different", []byte("x"), []atomicStep{{store.CompareAndClear, []byte("y")}}, []byte("x")},
	{"compare_and_clear prefix", []byte("xy"), []atomicStep{{store.CompareAndClear, []byte("x")}}, []byte("xy")},
	{"compare_and_clear absent", nil, []atomicStep{{store.CompareAndClear, []byte("x")}}, nil},
	{"compare_and_clear empty equal", b(), one(store.CompareAndClear), nil},
	{"compare_and_clear absent empty param", nil, one(store.CompareAndClear), nil},

	{"append_if_fits absent", nil, []atomicStep{{store.AppendIfFits, []byte("ab")}}, []byte("ab")},
	{"append_if_fits", []byte("ab"), []atomicStep{{store.AppendIfFits, []byte("cd")}}, []byte("abcd")},
	{"append_if_fits empty param", []byte("ab"), one(store.AppendIfFits), []byte("ab")},
	{"append_if_fits exactly fits", bytes.Repeat([]byte("x"), store.MaxValueSize-2), []atomicStep{{store.AppendIfFits, []byte("yz")}},
		append(bytes.Repeat([]byte("x"), store.MaxValueSize-2), "yz"...)},
	{"append_if_fits too big", bytes.Repeat([]byte("x"), store.MaxValueSize-1), []atomicStep{{store.AppendIfFits, []byte("yz")}},
		bytes.Repeat([]byte("x"), store.MaxValueSize-1)},

	{"add then add", nil, []atomicStep{{store.Add, le8(1)}, {store.Add, le8(2)}}, le8(3)},
	{"compare_and_clear then add", []byte("x"), []atomicStep{{store.CompareAndClear, []byte("x")}, {store.Add, b(0x01)}}, b(0x01)},
	{"max then min", b(0x05), []atomicStep{{store.Max, b(0x09)}, {store.Min, b(0x07)}}, b(0x07)},
	{"append then byte_min", []byte("b"), []atomicStep{{store.AppendIfFits, []byte("c")}, {store.ByteMin, []byte("bb")}}, []byte("bb")},
}

func b(x ...byte) []byte {
	if x == nil {
		return []byte{}
	}
	return x
}

func one(op store.MutationType, param ...byte) []atomicStep {
	return []atomicStep{{op, b(param...)}}
}

// testAtomicOps applies each case twice: once committed without reading
// (the op applied at commit on storage), once followed by a Get in the same
// transaction (the op applied by read-your-writes to the stored value).
func testAtomicOps(t *testing.T, e *env) {
	key := func(path string, i int) []byte { return e.key(fmt.Sprintf("%s/%03d", path, i)) }
	e.commit(t, func(tx store.Tx) {
		for i, c := range atomicCases {
			for _, path := range []string{"store", "ryw"} {
				if c.init != nil {
					tx.Set(key(path, i), c.init)
				}
			}
		}
	})
	e.commit(t, func(tx store.Tx) {
		for i, c := range atomicCases {
			for _, s := range c.steps {
				tx.Atomic(s.op, key("store", i), s.param)
			}
		}
	})
	tx := e.tx(t)
	for i, c := range atomicCases {
		for _, s := range c.steps {
			tx.Atomic(s.op, key("ryw", i), s.param)
		}
		wantValue(t, c.name+": Get in the transaction", mustGet(t, tx, key("ryw", i)), c.want)
	}
	wantCode(t, "commit", tx.Commit(), 0)

	rd := e.tx(t)
	for i, c := range atomicCases {
		wantValue(t, c.name+": stored", mustGet(t, rd, key("store", i)), c.want)
		wantValue(t, c.name+": stored after Get in the transaction", mustGet(t, rd, key("ryw", i)), c.want)
	}
}
