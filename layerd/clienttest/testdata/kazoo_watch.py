"""Kazoo's watch-driven recipes against one server, with two clients:
DataWatch, ChildrenWatch, TreeCache, Barrier, DoubleBarrier, Party and
SetPartitioner. One client changes the tree; the other's recipes must see
every change, in order.

Usage: kazoo_watch.py HOST:PORT

It prints "ok NAME" for each check that passes and "FAIL NAME: why" for
each that does not, then "done", and exits 1 if any check failed.
"""

import sys
import threading

from kazoo.client import KazooClient
from kazoo.recipe.cache import TreeCache, TreeEvent

from checks import failed, report

ADDR = sys.argv[1]
R = "/kwatch"
WAIT = 20  # seconds any one expected event may take


def client():
    c = KazooClient(hosts=ADDR, timeout=10)
    c.start(timeout=30)
    return c


def until(cond, timeout=WAIT):
    """Waits until cond() holds, woken by the recipes' callbacks."""
    with changed:
        return changed.wait_for(cond, timeout)


changed = threading.Condition()


def note():
    with changed:
        changed.notify_all()


watcher, writer = client(), client()
writer.ensure_path(R)

# DataWatch: every value, in order, then the deletion (None).
writer.create(R + "/data", b"0")
seen = []


@watcher.DataWatch(R + "/data")
def on_data(data, stat):
    seen.append(data)
    note()


until(lambda: seen == [b"0"])
for i in range(1, 6):
    writer.set(R + "/data", str(i).encode())
    # A data watch is one-shot: kazoo sets it again with the read that
    # follows each event, so values written before that read may merge.
    until(lambda: seen[-1] == str(i).encode())
writer.delete(R + "/data")
until(lambda: seen[-1] is None)
report("datawatch/in-order", seen == sorted(seen[:-1], key=lambda b: int(b)) + [None] and seen[-2] == b"5",
       "saw %r" % seen)

# ChildrenWatch: the children after each change.
lists = []


@watcher.ChildrenWatch(R)
def on_children(children):
    lists.append(sorted(children))
    note()


for name in ["a", "b", "c"]:
    writer.create(R + "/" + name)
until(lambda: lists and lists[-1] == ["a", "b", "c"])
writer.delete(R + "/b")
until(lambda: lists[-1] == ["a", "c"])
report("childrenwatch/final", lists[-1] == ["a", "c"], "saw %r" % lists)

# TreeCache: a subtree mirrored through watches.
events = []
cache = TreeCache(watcher, R + "/tree")
cache.listen(lambda ev: (events.append((ev.event_type, ev.event_data.path if ev.event_data else None)), note()))
writer.ensure_path(R + "/tree")
cache.start()
until(lambda: any(t == TreeEvent.INITIALIZED for t, _ in events))
writer.create(R + "/tree/x/y", b"deep", makepath=True)
until(lambda: cache.get_data(R + "/tree/x/y") is not None)
report("treecache/added", cache.get_data(R + "/tree/x/y").data == b"deep", "cache: %r" % (cache.get_data(R + "/tree/x/y"),))
writer.set(R + "/tree/x/y", b"changed")
until(lambda: (cache.get_data(R + "/tree/x/y") or cache.get_data(R + "/tree")).data == b"changed")
report("treecache/updated", cache.get_data(R + "/tree/x/y").data == b"changed", "cache: %r" % (cache.get_data(R + "/tree/x/y"),))
writer.delete(R + "/tree/x", recursive=True)
until(lambda: cache.get_data(R + "/tree/x") is None)
report("treecache/removed", cache.get_children(R + "/tree") == frozenset(), "children: %r" % cache.get_children(R + "/tree"))
cache.close()

# Barrier: a waiter released by the removal.
barrier = writer.Barrier(R + "/barrier")
barrier.create()
released = []
t = threading.Thread(target=lambda: released.append(watcher.Barrier(R + "/barrier").wait(WAIT)))
t.start()
barrier.remove()
t.join(WAIT + 5)
report("barrier/released", released == [True], "wait returned %r" % released)

# DoubleBarrier of two: neither enters alone; both leave together.
entered = []


def member(c, name):
    db = c.DoubleBarrier(R + "/double", 2, identifier=name)
    db.enter()
    entered.append(name)
    db.leave()


t1 = threading.Thread(target=member, args=(watcher, "w"))
t1.start()
t1.join(0.5)
alone = list(entered)
t2 = threading.Thread(target=member, args=(writer, "x"))
t2.start()
t1.join(WAIT)
t2.join(WAIT)
report("doublebarrier/waits-for-all", alone == [] and sorted(entered) == ["w", "x"], "alone %r, entered %r" % (alone, entered))

# Party: members of two clients.
p1 = watcher.Party(R + "/party", "one")
p2 = writer.Party(R + "/party", "two")
p1.join()
p2.join()
report("party/members", sorted(p1) == ["one", "two"], "members %r" % sorted(p1))
p2.leave()
report("party/left", list(p1) == ["one"], "members %r" % list(p1))

# SetPartitioner: two clients split a set between them.
parts = {}


def partition(c, name):
    sp = c.SetPartitioner(R + "/partition", set=("a", "b", "c", "d"), identifier=name, time_boundary=0.5)
    for _ in range(200):
        if sp.failed:
            return
        if sp.release:
            sp.release_set()
        elif sp.acquired:
            got = sorted(sp)
            if got and len(got) < 4:
                parts[name] = got
                note()
                until(lambda: len(parts) == 2, 10)
                sp.finish()
                return
            sp.wait_for_acquire(1)
        elif sp.allocating:
            sp.wait_for_acquire(1)


threads = [threading.Thread(target=partition, args=(c, n)) for c, n in ((watcher, "p1"), (writer, "p2"))]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
together = sorted(parts.get("p1", []) + parts.get("p2", []))
report("setpartitioner/split", together == ["a", "b", "c", "d"] and len(parts) == 2, "parts %r" % parts)

watcher.stop()
writer.stop()
print("done", flush=True)
sys.exit(1 if failed else 0)
