package difftest

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// multiSetup makes the nodes the multi cases work on:
//
//	p/x     data "x0", version 0
//	p/del   deleted by the good multi
//	p/full  with a child
//	locked  without CREATE for anyone
//	e       an ephemeral of session 0
func multiSetup(r *R) {
	r.Create("p", nil, zk.FlagPersistent, open)
	r.Create("p/x", D("x0"), zk.FlagPersistent, open)
	r.Create("p/del", nil, zk.FlagPersistent, open)
	r.Create("p/full", nil, zk.FlagPersistent, open)
	r.Create("p/full/c", nil, zk.FlagPersistent, open)
	r.Create("locked", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermCreate))
	r.Create("e", nil, zk.FlagEphemeral, open)
}

// multiGood is a multi that succeeds after multiSetup, one op of each type.
func multiGood() []Op {
	return []Op{
		CreateOp("p/new", D("n"), zk.FlagPersistent, open),
		SetOp("p/x", D("x1"), 0),
		CheckOp("p/x", 1),
		DeleteOp("p/del", -1),
	}
}

// multiCheckState records what multiGood would have changed.
func multiCheckState(r *R) {
	r.Exists("p/new")
	r.Get("p/x")
	r.Exists("p/del")
	r.Children("p")
}

// multiFailures are ops that fail after multiSetup, one per error path.
var multiFailures = []struct {
	name string
	op   Op
}{
	{"create-nonode", CreateOp("missing/c", nil, zk.FlagPersistent, open)},
	{"create-nodeexists", CreateOp("p/full", nil, zk.FlagPersistent, open)},
	{"create-noauth", CreateOp("locked/c", nil, zk.FlagPersistent, open)},
	{"create-nochildrenforephemerals", CreateOp("e/c", nil, zk.FlagPersistent, open)},
	{"create-invalidacl", CreateOp("p/bad", nil, zk.FlagPersistent, []zk.ACL{})},
	{"create-badarguments", CreateOp("p/\ue000", nil, zk.FlagPersistent, open)},
	{"setdata-nonode", SetOp("p/missing", D("v"), -1)},
	{"setdata-badversion", SetOp("p/full", D("v"), 3)},
	{"check-nonode", CheckOp("p/missing", -1)},
	{"check-badversion", CheckOp("p/full", 4)},
	{"delete-nonode", DeleteOp("p/missing", -1)},
	{"delete-notempty", DeleteOp("p/full", -1)},
	{"delete-badversion", DeleteOp("p/full/c", 2)},
	{"delete-badarguments", DeleteOp("/zookeeper", -1)},
}

// multiCases: multi (14) successes, a failure of every kind at every
// position (ZK-SEMANTICS §8: nothing applied; earlier ops OK, the failing
// op its code, later ops RUNTIMEINCONSISTENCY), and ops that depend on
// earlier ones in the same multi.
func multiCases() []Case {
	cs := []Case{
		{"multi/success", func(r *R) {
			multiSetup(r)
			r.Multi(multiGood()...)
			multiCheckState(r)
			r.Exists("p/new")
		}},
		{"multi/empty", func(r *R) {
			r.Multi()
			r.Exists("")
		}},
		{"multi/single-ops", func(r *R) {
			r.Multi(CreateOp("a", D("a"), zk.FlagPersistent, open))
			r.Multi(SetOp("a", D("b"), 0))
			r.Multi(CheckOp("a", 1))
			r.Multi(DeleteOp("a", 1))
			r.Exists("a")
		}},
		{"multi/one-zxid", func(r *R) {
			r.Multi(
				CreateOp("a", nil, zk.FlagPersistent, open),
				CreateOp("b", nil, zk.FlagPersistent, open),
				CreateOp("a/c", nil, zk.FlagPersistent, open),
			)
			r.Exists("a")
			r.Exists("b")
			r.Exists("a/c")
			r.Exists("")
		}},
		{"multi/dependent-ops", func(r *R) {
			r.Multi(
				CreateOp("a", D("1"), zk.FlagPersistent, open),
				CreateOp("a/b", D("2"), zk.FlagPersistent, open),
				SetOp("a", D("3"), 0),
				CheckOp("a", 1),
				SetOp("a", D("4"), 1),
				DeleteOp("a/b", 0),
				CreateOp("a/b", D("5"), zk.FlagPersistent, open),
			)
			r.Get("a")
			r.Get("a/b")
		}},
		{"multi/create-then-delete", func(r *R) {
			r.Multi(CreateOp("a", nil, zk.FlagPersistent, open), DeleteOp("a", 0))
			r.Exists("a")
			r.Exists("")
		}},
		{"multi/delete-then-create", func(r *R) {
			r.Create("a", D("old"), zk.FlagPersistent, open)
			r.Set("a", D("old2"), -1)
			r.Multi(DeleteOp("a", 1), CreateOp("a", D("new"), zk.FlagPersistent, open))
			r.Get("a")
		}},
		{"multi/same-node-twice", func(r *R) {
			r.Multi(CreateOp("a", nil, zk.FlagPersistent, open), CreateOp("a", nil, zk.FlagPersistent, open))
			r.Exists("a")
		}},
		{"multi/two-failures-first-wins", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Multi(
				CheckOp("a", 0),
				SetOp("a", D("x"), 5),
				DeleteOp("missing", -1),
				CreateOp("a", nil, zk.FlagPersistent, open),
			)
			r.Get("a")
		}},
		{"multi/sequential", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Multi(
				CreateOp("q/n-", D("1"), zk.FlagSequence, open),
				CreateOp("q/n-", D("2"), zk.FlagSequence, open),
				CreateOp("q/m-", D("3"), zk.FlagEphemeralSequential, open),
			)
			r.Children("q")
			r.Exists("q")
		}},
		{"multi/sequential-rolled-back", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Multi(
				CreateOp("q/n-", nil, zk.FlagSequence, open),
				CreateOp("q/n-", nil, zk.FlagSequence, open),
				CheckOp("q", 99),
			)
			r.Exists("q")
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Children("q")
		}},
		{"multi/ephemeral", func(r *R) {
			r.Multi(
				CreateOp("e", nil, zk.FlagEphemeral, open),
				CreateOp("f", nil, zk.FlagPersistent, open),
			)
			r.Exists("e")
			r.S(1).Exists("e")
			r.Multi(CreateOp("e/c", nil, zk.FlagPersistent, open))
			r.Close()
			r.S(1).Exists("e")
			r.S(1).Exists("f")
		}},
		{"multi/container-and-ttl-flags", func(r *R) {
			// go-zookeeper sends these as create (1) ops: ZooKeeper turns
			// flag 4 into a persistent node; TTL modes need a ttl.
			r.Multi(CreateOp("c", nil, zk.FlagContainer, open))
			r.Exists("c")
			r.Multi(CreateOp("t", nil, zk.FlagTTL, open))
			r.Multi(CreateOp("ts", nil, zk.FlagPersistentSequentialWithTTL, open))
			r.Multi(CreateOp("x", nil, 7, open))
			r.Multi(CreateOp("y", nil, -1, open))
			r.Children("")
		}},
		{"multi/parent-stat", func(r *R) {
			r.Create("p", D("p"), zk.FlagPersistent, open)
			r.Create("p/old", nil, zk.FlagPersistent, open)
			r.Multi(
				CreateOp("p/a", nil, zk.FlagPersistent, open),
				CreateOp("p/b", nil, zk.FlagPersistent, open),
				DeleteOp("p/old", -1),
				SetOp("p", D("q"), 0),
			)
			r.Exists("p")
			r.Exists("p/a")
		}},
		{"multi/many-ops", func(r *R) {
			var ops []Op
			for i := range 100 {
				ops = append(ops, CreateOp(fmt.Sprintf("n%03d", i), D("d"), zk.FlagPersistent, open))
			}
			r.Multi(ops...)
			r.Children("")
			r.Exists("")
			ops = ops[:0]
			for i := range 100 {
				ops = append(ops, SetOp(fmt.Sprintf("n%03d", i), D("e"), 0), CheckOp(fmt.Sprintf("n%03d", i), 1))
			}
			r.Multi(ops...)
			r.Get("n099")
		}},
		{"multi/many-ops-fail-last", func(r *R) {
			var ops []Op
			for i := range 50 {
				ops = append(ops, CreateOp(fmt.Sprintf("n%02d", i), nil, zk.FlagPersistent, open))
			}
			ops = append(ops, CheckOp("", 7))
			r.Multi(ops...)
			r.Children("")
		}},
		{"multi/acl-checked-per-op", func(r *R) {
			r.Create("ro", D("r"), zk.FlagPersistent, readOnly)
			r.Multi(CheckOp("ro", 0), SetOp("ro", D("w"), 0))
			r.Multi(CheckOp("ro", 0))
			r.Create("nr", D("r"), zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead))
			r.Multi(CheckOp("nr", 0))
			r.Multi(SetOp("nr", D("w"), 0))
		}},
		{"multi/digest-auth", func(r *R) {
			r.Create("n", nil, zk.FlagPersistent, alice)
			r.Multi(SetOp("n", D("x"), -1))
			r.AddAuth("digest", "alice:secret")
			r.Multi(SetOp("n", D("x"), -1), CreateOp("n/c", nil, zk.FlagPersistent, zk.AuthACL(zk.PermAll)))
			r.GetACL("n/c")
		}},
		{"multi/ephemeral-parent-in-same-multi", func(r *R) {
			r.Multi(CreateOp("e", nil, zk.FlagEphemeral, open), CreateOp("e/c", nil, zk.FlagPersistent, open))
			r.Exists("e")
		}},
		{"multi/large", func(r *R) {
			big := make([]byte, 300_000)
			for i := range big {
				big[i] = byte(i % 251)
			}
			r.Multi(
				CreateOp("a", big, zk.FlagPersistent, open),
				CreateOp("b", big, zk.FlagPersistent, open),
				CreateOp("c", big, zk.FlagPersistent, open),
			)
			r.Get("c")
		}},
	}
	for _, f := range multiFailures {
		for pos := range 4 {
			cs = append(cs, Case{fmt.Sprintf("multi/fail-%s-at-%d", f.name, pos), func(r *R) {
				multiSetup(r)
				ops := multiGood()
				ops[pos] = f.op
				r.Multi(ops...)
				multiCheckState(r)
			}})
		}
	}
	return cs
}
