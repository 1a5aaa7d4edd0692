"""One of several processes contending through a kazoo recipe that waits
on watch events.

Usage: kazoo_contend.py HOST:PORT RECIPE ROOT INDEX N PROCS

All PROCS processes start contending together: each waits, through a
ChildrenWatch, until all have registered under ROOT/ready.

RECIPE is one of:
  lock       Lock: N times, read an integer node and write it + 1
  semaphore  Semaphore with one lease: the same
  writelock  WriteLock (of a ReadLock/WriteLock pair): the same
  rwlock     ReadLock/WriteLock mixed: even INDEXes write as for
             writelock; odd INDEXes N times take the ReadLock, read the
             integer node, list the lock's contenders, read the node again
             and print "held V": a writer let in beside a reader changes V
             in between, and the process exits 1
  election   Election: win N times, each time doing the same as leader
  queue      LockingQueue: put N items numbered INDEX*N+1 ... INDEX*N+N,
             then take and consume N items
Each critical section prints "post V", V being the value it wrote (the
item it took, for queue): over all processes the values must be 1 ...
total, each once; a mutual exclusion that failed shows a value twice.
The counter node is written without a version, so only the recipe keeps
the increments apart. Then it prints "done". It exits 1 on any error.
"""

import re
import sys

from kazoo.client import KazooClient
from kazoo.retry import ForceRetryError
from kazoo.recipe.lock import Lock
from kazoo.version import __version__ as kazoo_version

from checks import start_together

addr, recipe, root = sys.argv[1], sys.argv[2], sys.argv[3]
index, n, procs = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
c = KazooClient(hosts=addr, timeout=10)
c.start(timeout=30)
c.ensure_path(root + "/count")
me = "p%d" % index


def predecessor_below(self, node):
    """Lock._get_predecessor as kazoo 2.9 has it (python-zk/kazoo#650):
    only a contender whose sequence number is below node's own precedes
    it. Before 2.9, a ReadLock took the last writer of all as its
    predecessor, even one that came after it and so waits for it: the two
    wait for each other for ever (kazoo#649), against any server. Debian's
    python3-kazoo is 2.8."""
    children = self.client.get_children(self.path)
    if node not in children:
        raise ForceRetryError()  # our node is gone: kazoo starts over
    own = int(re.search(r"(-?\d{10})$", node).group(1))
    best = None
    for child in children:
        match = self._contenders_re.search(child)
        if match is None:
            continue
        seq = int(match.group(1))
        if seq < own and (best is None or seq > best[0]):
            best = (seq, child)
    return best and best[1]


if tuple(int(x) for x in kazoo_version.split(".")[:2]) < (2, 9):
    Lock._get_predecessor = predecessor_below

start_together(c, root + "/ready", me, procs)


def increment():
    data, _ = c.get(root + "/count")
    value = int(data or b"0") + 1
    c.set(root + "/count", str(value).encode())
    print("post", value, flush=True)


if recipe == "lock":
    lock = c.Lock(root + "/lock", me)
    for _ in range(n):
        with lock:
            increment()
elif recipe == "semaphore":
    sem = c.Semaphore(root + "/semaphore", me, max_leases=1)
    for _ in range(n):
        with sem:
            increment()
elif recipe == "writelock":
    lock = c.WriteLock(root + "/rwlock", me)
    for _ in range(n):
        with lock:
            increment()
elif recipe == "rwlock":
    if index % 2 == 0:
        lock = c.WriteLock(root + "/rwlock", me)
        for _ in range(n):
            with lock:
                increment()
    else:
        lock = c.ReadLock(root + "/rwlock", me)
        for _ in range(n):
            with lock:
                before, _ = c.get(root + "/count")
                c.get_children(root + "/rwlock")
                after, _ = c.get(root + "/count")
                if before != after:
                    raise SystemExit("count changed from %r to %r under the read lock" % (before, after))
                print("held", int(before or b"0"), flush=True)
elif recipe == "election":
    for _ in range(n):
        c.Election(root + "/election", me).run(increment)
elif recipe == "queue":
    q = c.LockingQueue(root + "/queue")
    for i in range(n):
        q.put(str(index * n + i + 1).encode())
    for _ in range(n):
        item = q.get(timeout=60)
        if item is None:
            raise SystemExit("queue: no item within 60 s")
        print("post", int(item), flush=True)
        if not q.consume():
            raise SystemExit("queue: consume failed")
else:
    raise SystemExit("unknown recipe " + recipe)

c.stop()
c.close()
print("done", flush=True)
