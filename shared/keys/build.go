package keys

import "strings"

// keyBuilder appends tuple elements to a subspace's prefix without a
// Tuple: no element is boxed into an interface, and the key is one
// allocation sized up front. The hot keys of every request (a node's
// stat, counters and pzxid, its watchers) are built with it; what it
// appends is byte for byte what Tuple.AppendPack appends for the same
// elements (TestKeyBuilderMatchesTuple). Packing a Tuple took four or
// five allocations per key, a tenth of a create's.
type keyBuilder struct{ b []byte }

// Room an element takes at most, for sizing: a string's bytes (more
// only with 0x00 bytes in it, which then grow the buffer) with its code
// and terminator; an integer's code and up to 8 bytes.
const intRoom = 9

func strRoom(s string) int { return len(s) + 2 }

// build starts a key of s with room for the elements that follow.
func (s Subspace) build(room int) keyBuilder {
	b := make([]byte, len(s.prefix), len(s.prefix)+room)
	copy(b, s.prefix)
	return keyBuilder{b}
}

// int appends an integer element.
func (k keyBuilder) int(i int64) keyBuilder {
	e := encoder{buf: k.b}
	e.int(i)
	return keyBuilder{e.buf}
}

// str appends a string element.
func (k keyBuilder) str(s string) keyBuilder {
	k.b = appendStringElem(k.b, s)
	return k
}

// appendStringElem appends s as a tuple's string element: code 0x02, s
// with every 0x00 escaped as 0x00 0xFF, and the terminating 0x00.
func appendStringElem(b []byte, s string) []byte {
	b = append(b, codeString)
	for {
		i := strings.IndexByte(s, 0x00)
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, escape)
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, 0x00)
}
