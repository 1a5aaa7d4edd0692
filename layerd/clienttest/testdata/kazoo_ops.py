"""Kazoo (python3-kazoo 2.8) against one server: sessions, every data
operation, pipelined requests, transactions, ACLs and digest auth, and
the recipes that need no watch event.

Usage: kazoo_ops.py HOST:PORT

It prints "ok NAME" for each check that passes and "FAIL NAME: why" for
each that does not, then "done", and exits 1 if any check failed. The Go
test (kazoo_test.go) runs it against Apache ZooKeeper and against layerd,
and requires the same list of passed checks from both.
"""

import datetime
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    BadVersionError,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)
from kazoo.protocol.states import ZnodeStat
from kazoo.recipe.barrier import Barrier
from kazoo.recipe.counter import Counter
from kazoo.recipe.lease import NonBlockingLease
from kazoo.recipe.party import Party, ShallowParty
from kazoo.recipe.queue import Queue
from kazoo.security import ACL, Id, make_acl, make_digest_acl

from checks import check, failed, raises, report

ADDR = sys.argv[1]
R = "/kazoo"
def client(**kwargs):
    c = KazooClient(hosts=ADDR, timeout=10, **kwargs)
    c.start(timeout=30)
    return c


def recent(t):
    return abs(t - time.time()) < 600


def sessions():
    c = client()
    check("session/connected", (c.connected, c.state), (True, "CONNECTED"))
    report("session/id", c.client_id[0] != 0, "session id %r" % (c.client_id,))
    c2 = client()
    report("session/distinct", c2.client_id[0] != c.client_id[0], "both %r" % (c.client_id,))
    c2.stop()
    c2.close()
    check("session/stopped", c2.connected, False)
    return c


def data_ops(c):
    check("create/returns-path", c.create(R + "/a", b"one"), R + "/a")
    data, st = c.get(R + "/a")
    check("get/data", data, b"one")
    check("get/stat", (st.version, st.cversion, st.aversion, st.dataLength, st.numChildren, st.ephemeralOwner),
          (0, 0, 0, 3, 0, 0))
    check("get/stat-zxids", (st.czxid == st.mzxid, st.pzxid == st.czxid), (True, True))
    report("get/stat-times", recent(st.created) and st.ctime == st.mtime, "ctime %r mtime %r" % (st.ctime, st.mtime))

    st2 = c.set(R + "/a", b"two")
    check("set/version", st2.version, 1)
    report("set/mzxid-grows", st2.mzxid > st.mzxid and st2.czxid == st.czxid, "%r then %r" % (st, st2))
    report("set/mtime", st2.mtime >= st2.ctime, "%r" % (st2,))
    check("set/then-get", c.get(R + "/a")[0], b"two")
    check("set/right-version", c.set(R + "/a", b"three", version=1).version, 2)
    raises("set/bad-version", BadVersionError, c.set, R + "/a", b"x", version=1)
    raises("set/no-node", NoNodeError, c.set, R + "/nope", b"x")
    raises("get/no-node", NoNodeError, c.get, R + "/nope")

    st3 = c.exists(R + "/a")
    check("exists/stat", (type(st3), st3.version, st3.dataLength), (ZnodeStat, 2, 5))
    check("exists/none", c.exists(R + "/nope"), None)

    raises("create/node-exists", NodeExistsError, c.create, R + "/a")
    raises("create/no-parent", NoNodeError, c.create, R + "/nope/child")
    path, cst = c.create(R + "/a/c1", b"x", include_data=True)
    check("create/include-data", (path, type(cst), cst.version, cst.dataLength), (R + "/a/c1", ZnodeStat, 0, 1))
    c.create(R + "/a/c2")
    c.create(R + "/a/c0")
    check("get-children/sorted", sorted(c.get_children(R + "/a")), ["c0", "c1", "c2"])
    children, pst = c.get_children(R + "/a", include_data=True)
    check("get-children/include-data", (sorted(children), pst.numChildren, pst.cversion, pst.pzxid),
          (["c0", "c1", "c2"], 3, 3, c.exists(R + "/a/c0").czxid))
    check("get-children/leaf", c.get_children(R + "/a/c1"), [])
    raises("get-children/no-node", NoNodeError, c.get_children, R + "/nope")

    check("data/default-empty", c.get(R + "/a/c2")[0], b"")
    binary = bytes(range(256))
    c.create(R + "/bin", binary)
    check("data/binary", c.get(R + "/bin")[0], binary)
    lines = "first line\nsecond line\n\u00e9t\u00e9 \u2603\n".encode("utf-8")
    c.create(R + "/lines", lines)
    check("data/multi-line-utf8", c.get(R + "/lines")[0], lines)
    big = bytes(i % 251 for i in range(512 * 1024))
    c.set(R + "/bin", big)
    got, bst = c.get(R + "/bin")
    check("data/512KiB", (got == big, bst.dataLength), (True, len(big)))

    raises("delete/not-empty", NotEmptyError, c.delete, R + "/a")
    raises("delete/bad-version", BadVersionError, c.delete, R + "/a/c0", version=3)
    c.delete(R + "/a/c0", version=0)
    check("delete/gone", c.exists(R + "/a/c0"), None)
    raises("delete/no-node", NoNodeError, c.delete, R + "/a/c0")
    c.delete(R + "/a", recursive=True)
    check("delete/recursive", c.exists(R + "/a"), None)

    check("sync", c.sync(R), R)


def paths(c):
    check("ensure-path/new", c.ensure_path(R + "/e/f/g"), R + "/e/f/g")
    check("ensure-path/levels", [c.exists(p) is not None for p in (R + "/e", R + "/e/f", R + "/e/f/g")], [True] * 3)
    check("ensure-path/again", c.ensure_path(R + "/e/f/g"), True)
    check("makepath/create", c.create(R + "/mk/x/y", b"deep", makepath=True), R + "/mk/x/y")
    check("makepath/data", (c.get(R + "/mk/x/y")[0], c.get(R + "/mk/x")[0]), (b"deep", b""))


def sequences(c):
    got = [c.create(R + "/seq/n-", b"", sequence=True, makepath=True) for _ in range(3)]
    check("sequence/numbers", got, [R + "/seq/n-%010d" % i for i in range(3)])
    check("sequence/other-prefix", c.create(R + "/seq/m-", sequence=True), R + "/seq/m-0000000003")
    c.delete(R + "/seq/n-0000000000")
    check("sequence/after-delete", c.create(R + "/seq/n-", sequence=True), R + "/seq/n-0000000004")
    # Many requests in flight on one connection: answered in order.
    results = [c.create_async(R + "/seq/p-", b"", sequence=True) for _ in range(100)]
    got = [r.get(timeout=30) for r in results]
    check("pipelined/creates-in-order", got, [R + "/seq/p-%010d" % i for i in range(5, 105)])
    sets = [c.set_async(R + "/seq", b"v%d" % i) for i in range(20)]
    check("pipelined/set-versions", [s.get(timeout=30).version for s in sets], list(range(1, 21)))
    check("pipelined/last-write", c.get(R + "/seq")[0], b"v19")
    gets = [c.get_async(R + "/seq/m-0000000003"), c.exists_async(R + "/nope"), c.get_children_async(R + "/seq")]
    check("pipelined/mixed-reads", (gets[0].get(timeout=30)[0], gets[1].get(timeout=30), len(gets[2].get(timeout=30))),
          (b"", None, 104))


def ephemerals(c):
    e = client()
    p = e.create(R + "/eph", b"e", ephemeral=True)
    ps = e.create(R + "/eph-", ephemeral=True, sequence=True)
    st = c.exists(p)
    report("ephemeral/owner", st is not None and st.ephemeralOwner == e.client_id[0],
           "stat %r, session %x" % (st, e.client_id[0]))
    check("ephemeral/sequential", ps.startswith(R + "/eph-00000000"), True)
    raises("ephemeral/no-children", NoChildrenForEphemeralsError, e.create, p + "/child")
    check("ephemeral/other-session-reads", c.get(p)[0], b"e")
    e.stop()  # closes the session: its ephemerals are deleted before the reply
    e.close()
    check("ephemeral/gone-after-stop", (c.exists(p), c.exists(ps)), (None, None))


def transactions(c):
    c.create(R + "/tx", b"")
    c.create(R + "/tx/old", b"")
    t = c.transaction()
    t.create(R + "/tx/a", b"1")
    t.check(R + "/tx", 0)
    t.set_data(R + "/tx", b"x", version=0)
    t.delete(R + "/tx/old")
    res = t.commit()
    check("transaction/results", [res[0], res[1], type(res[2]), res[3]], [R + "/tx/a", True, ZnodeStat, True])
    data, st = c.get(R + "/tx")
    check("transaction/applied", (data, st.version, sorted(c.get_children(R + "/tx"))), (b"x", 1, ["a"]))
    report("transaction/one-zxid", res[2].mzxid == c.exists(R + "/tx/a").czxid, "set %r" % (res[2],))

    t = c.transaction()
    t.create(R + "/tx/b", b"2")
    t.check(R + "/tx", 0)  # the version is 1 now
    t.set_data(R + "/tx", b"y")
    res = t.commit()
    check("transaction/failure-results", [type(r).__name__ for r in res],
          ["RolledBackError", "BadVersionError", "RuntimeInconsistency"])
    check("transaction/nothing-applied", (c.exists(R + "/tx/b"), c.get(R + "/tx")[0]), (None, b"x"))

    with c.transaction() as t:
        t.create(R + "/tx/w", b"w")
    check("transaction/with-commits", c.get(R + "/tx/w")[0], b"w")


def acls(c):
    alice = make_digest_acl("alice", "secret", all=True)
    check("acl/digest-id", alice.id, Id("digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="))
    c.create(R + "/acl", b"s", acl=[alice])
    raises("acl/no-auth-get", NoAuthError, c.get, R + "/acl")
    raises("acl/no-auth-set", NoAuthError, c.set, R + "/acl", b"x")
    raises("acl/no-auth-get-acls", NoAuthError, c.get_acls, R + "/acl")
    raises("acl/no-auth-create-child", NoAuthError, c.create, R + "/acl/c")

    a = client()
    check("acl/add-auth", a.add_auth("digest", "alice:secret"), True)
    check("acl/authed-get", a.get(R + "/acl")[0], b"s")
    acl, st = a.get_acls(R + "/acl")
    check("acl/get-acls", (acl, st.aversion), ([alice], 0))
    wrong = client()
    wrong.add_auth("digest", "alice:wrong")
    raises("acl/wrong-password", NoAuthError, wrong.get, R + "/acl")
    wrong.stop()
    wrong.close()

    at_start = client(auth_data=[("digest", "alice:secret")])
    check("acl/auth-data-at-start", at_start.get(R + "/acl")[0], b"s")
    # The "auth" scheme: the creator's identities.
    at_start.create(R + "/acl/mine", b"m", acl=[make_acl("auth", "", all=True)])
    check("acl/auth-scheme", a.get_acls(R + "/acl/mine")[0], [alice])
    at_start.stop()
    at_start.close()

    st = a.set_acls(R + "/acl", [make_acl("world", "anyone", read=True), alice])
    check("acl/set-acls", st.aversion, 1)
    check("acl/world-read", c.get(R + "/acl")[0], b"s")
    raises("acl/world-read-no-write", NoAuthError, c.set, R + "/acl", b"x")
    raises("acl/set-acls-bad-version", BadVersionError, a.set_acls, R + "/acl", [alice], version=0)
    check("acl/read-perms", c.get_acls(R + "/acl")[0],
          [ACL(1, Id("world", "anyone")), ACL(31, Id("digest", "alice:x"))])
    a.stop()
    a.close()

    f = client()
    raises("auth/unknown-scheme", AuthFailedError, f.add_auth, "nosuch", "x")
    f.stop()
    f.close()
    # kazoo sends an empty credential as null data, which ZooKeeper's
    # digest provider fails on: AUTH_FAILED.
    # Null digest data (kazoo sends "" as null) fails authentication.
    n = client()
    raises("auth/null-digest", AuthFailedError, n.add_auth, "digest", "")
    n.stop()
    n.close()


def recipes(c):
    other = client()

    # An uncontended Lock needs no watch: the lock node is the first child.
    lock = c.Lock(R + "/lock", "me")
    check("lock/acquire", lock.acquire(timeout=10), True)
    check("lock/contenders", lock.contenders(), ["me"])
    # Held elsewhere: a non-blocking acquire gives up, without a watch.
    lock2 = other.Lock(R + "/lock", "other")
    check("lock/non-blocking-busy", lock2.acquire(blocking=False), False)
    check("lock/busy-cleaned-up", lock.contenders(), ["me"])
    check("lock/release", lock.release(), True)
    check("lock/non-blocking-free", lock2.acquire(blocking=False), True)
    check("lock/other-holds", lock.contenders(), ["other"])
    lock2.release()
    with c.Lock(R + "/lock", "ctx"):
        check("lock/with", len(c.get_children(R + "/lock")), 1)
    check("lock/with-released", c.get_children(R + "/lock"), [])

    counter = Counter(c, R + "/counter")
    counter += 5
    counter -= 2
    check("counter/value", (counter.value, c.get(R + "/counter")[0]), (3, b"3"))
    fc = Counter(other, R + "/fcounter", default=0.5)
    fc += 1.25
    check("counter/float", fc.value, 1.75)

    q = Queue(c, R + "/queue")
    q.put(b"a")
    q.put(b"b", priority=1)
    Queue(other, R + "/queue").put(b"c", priority=200)
    check("queue/len", len(q), 3)
    check("queue/order", [q.get(), q.get(), q.get(), q.get()], [b"b", b"a", b"c", None])

    for cls in (Party, ShallowParty):
        name = cls.__name__.lower()
        gone = client()
        p1 = cls(c, R + "/" + name, "one")
        p1.join()
        cls(gone, R + "/" + name, "two").join()
        check(name + "/members", sorted(p1), ["one", "two"])
        gone.stop()  # its member is ephemeral
        gone.close()
        check(name + "/member-gone", (len(p1), list(p1)), (1, ["one"]))
        p1.leave()
        check(name + "/left", len(p1), 0)

    week = datetime.timedelta(days=7)
    check("lease/obtain", bool(NonBlockingLease(c, R + "/lease", week, identifier="a")), True)
    check("lease/held", bool(NonBlockingLease(other, R + "/lease", week, identifier="b")), False)
    check("lease/renew", bool(NonBlockingLease(other, R + "/lease", week, identifier="a")), True)

    b = Barrier(c, R + "/barrier")
    b.create()
    check("barrier/create", c.exists(R + "/barrier") is not None, True)
    check("barrier/remove", (b.remove(), c.exists(R + "/barrier")), (True, None))

    other.stop()
    other.close()


def main():
    c = sessions()
    c.ensure_path(R)
    for part in (data_ops, paths, sequences, ephemerals, transactions, acls, recipes):
        try:
            part(c)
        except Exception as e:  # noqa: BLE001 - report and go on with the next part
            report(part.__name__, False, "raised %r" % (e,))
    c.stop()
    c.close()
    print("done", flush=True)
    sys.exit(1 if failed else 0)


main()
