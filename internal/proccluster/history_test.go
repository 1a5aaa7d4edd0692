package proccluster

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The register model catches what it is there to catch: a stale read, a
// lost acknowledged write, a conditional write applied at the wrong
// version; and it allows what a lost connection leaves open.
func TestRegisterModel(t *testing.T) {
	set := func(client int, value string, expect int32, call, ret int64, out regOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{value: value, version: expect}, Call: call, Output: out, Return: ret}
	}
	get := func(client int, call, ret int64, value string, version int32) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: regInput{read: true}, Call: call, Output: regOutput{value: value, version: version}, Return: ret}
	}
	unknown := regOutput{unknown: true}
	for _, tc := range []struct {
		name    string
		history []porcupine.Operation
		ok      bool
	}{
		{"read after write", []porcupine.Operation{set(0, "a", -1, 0, 1, regOutput{version: 1}), get(1, 2, 3, "a", 1)}, true},
		{"stale read", []porcupine.Operation{set(0, "a", -1, 0, 1, regOutput{version: 1}), get(1, 2, 3, "init", 0)}, false},
		{"concurrent read", []porcupine.Operation{set(0, "a", -1, 0, 3, regOutput{version: 1}), get(1, 1, 2, "init", 0)}, true},
		{"lost write", []porcupine.Operation{
			set(0, "a", -1, 0, 1, regOutput{version: 1}), set(0, "b", -1, 2, 3, regOutput{version: 2}), get(1, 4, 5, "a", 1)}, false},
		{"version skipped", []porcupine.Operation{set(0, "a", -1, 0, 1, regOutput{version: 2})}, false},
		{"conditional at the wrong version", []porcupine.Operation{set(0, "a", 5, 0, 1, regOutput{version: 1})}, false},
		{"BADVERSION at the right version", []porcupine.Operation{set(0, "a", 0, 0, 1, regOutput{badVersion: true})}, false},
		{"BADVERSION", []porcupine.Operation{set(0, "a", 3, 0, 1, regOutput{badVersion: true})}, true},
		{"unknown, applied", []porcupine.Operation{set(0, "a", -1, 0, math.MaxInt64, unknown), get(1, 2, 3, "a", 1)}, true},
		{"unknown, not applied", []porcupine.Operation{set(0, "a", -1, 0, math.MaxInt64, unknown), get(1, 2, 3, "init", 0)}, true},
		{"unknown applied late", []porcupine.Operation{
			set(0, "a", -1, 0, math.MaxInt64, unknown), get(1, 2, 3, "a", 1), get(1, 4, 5, "init", 0)}, false},
	} {
		if got := porcupine.CheckOperations(registerModel, tc.history); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The children-set model catches a listing that misses an acknowledged
// create or shows a deleted child, and a NODEEXISTS for an absent one.
func TestChildrenModel(t *testing.T) {
	op := func(client int, kind setOpKind, member int, call, ret int64, out setOutput) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: setInput{op: kind, member: member}, Call: call, Output: out, Return: ret}
	}
	list := func(client int, call, ret int64, members uint8) porcupine.Operation {
		return op(client, setList, 0, call, ret, setOutput{members: members})
	}
	for _, tc := range []struct {
		name    string
		history []porcupine.Operation
		ok      bool
	}{
		{"create then list", []porcupine.Operation{op(0, setCreate, 2, 0, 1, setOutput{}), list(1, 2, 3, 0b100)}, true},
		{"list misses a create", []porcupine.Operation{op(0, setCreate, 2, 0, 1, setOutput{}), list(1, 2, 3, 0)}, false},
		{"list shows a deleted child", []porcupine.Operation{
			op(0, setCreate, 1, 0, 1, setOutput{}), op(0, setDelete, 1, 2, 3, setOutput{}), list(1, 4, 5, 0b10)}, false},
		{"NODEEXISTS for an absent child", []porcupine.Operation{op(0, setCreate, 0, 0, 1, setOutput{failed: true})}, false},
		{"NONODE for an absent child", []porcupine.Operation{op(0, setDelete, 0, 0, 1, setOutput{failed: true})}, true},
		{"create twice", []porcupine.Operation{op(0, setCreate, 0, 0, 1, setOutput{}), op(1, setCreate, 0, 2, 3, setOutput{})}, false},
		{"unknown create, seen", []porcupine.Operation{op(0, setCreate, 3, 0, math.MaxInt64, setOutput{unknown: true}), list(1, 2, 3, 0b1000)}, true},
		{"unknown create, not seen", []porcupine.Operation{op(0, setCreate, 3, 0, math.MaxInt64, setOutput{unknown: true}), list(1, 2, 3, 0)}, true},
		{"unknown create, seen then gone", []porcupine.Operation{
			op(0, setCreate, 3, 0, math.MaxInt64, setOutput{unknown: true}), list(1, 2, 3, 0b1000), list(1, 4, 5, 0)}, false},
	} {
		if got := porcupine.CheckOperations(childrenModel, tc.history); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
