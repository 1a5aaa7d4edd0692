"""One of several processes using a kazoo recipe for groups together.

Usage: kazoo_group.py HOST:PORT RECIPE ROOT INDEX PROCS ROUNDS

All PROCS processes start together (checks.start_together). RECIPE is
one of:
  barrier        Barrier, ROUNDS times: process 0 holds it until all the
                 others wait on it, marks it lifted, removes it; the others
                 wait and must find it lifted when wait returns.
  doublebarrier  DoubleBarrier of PROCS, ROUNDS times: enter must return
                 only when all have arrived, leave only when all have left.
  party          Party: each joins, must see all PROCS members, then
                 leaves when all have seen them.
  partitioner    SetPartitioner of the items 0 … 11: each prints "part"
                 and the items it got once all PROCS are in the party; over
                 all processes every item must be in exactly one part.
  queue          Queue: each puts ROUNDS items numbered INDEX*ROUNDS+1 …,
                 then, when all have put theirs, takes items until the
                 queue is empty, printing "post V" for each; over all
                 processes every item must be taken exactly once.
It prints "ok NAME" or "FAIL NAME: why" for each check, then "done", and
exits 1 if any check failed.
"""

import sys

from kazoo.client import KazooClient

from checks import check, failed, rendezvous, report, start_together, wait_children

addr, recipe, root = sys.argv[1], sys.argv[2], sys.argv[3]
index, procs, rounds = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
c = KazooClient(hosts=addr, timeout=10)
c.start(timeout=30)
me = "p%d" % index
names = sorted("p%d" % i for i in range(procs))
WAIT = 60  # seconds any one rendezvous may take


if recipe == "barrier":
    if index == 0:  # the barriers exist before anyone waits on them
        for k in range(rounds):
            c.Barrier("%s/barrier/r%d" % (root, k)).create()
    start_together(c, root + "/ready", me, procs)
    for k in range(rounds):
        b = c.Barrier("%s/barrier/r%d" % (root, k))
        lifted = "%s/lifted/r%d" % (root, k)
        if index == 0:
            report("barrier/others-wait-%d" % k, wait_children(c, "%s/waiting/r%d" % (root, k), procs - 1, WAIT))
            c.ensure_path(lifted)
            report("barrier/remove-%d" % k, b.remove())
        else:
            c.ensure_path("%s/waiting/r%d/%s" % (root, k, me))
            report("barrier/released-%d" % k, b.wait(WAIT))
            report("barrier/after-lift-%d" % k, c.exists(lifted) is not None, "wait returned before the barrier was lifted")
elif recipe == "doublebarrier":
    start_together(c, root + "/ready", me, procs)
    for k in range(rounds):
        arrived, inside = "%s/arrived/r%d" % (root, k), "%s/inside/r%d" % (root, k)
        c.ensure_path(arrived + "/" + me)
        c.ensure_path(inside)
        db = c.DoubleBarrier("%s/dbarrier/r%d" % (root, k), procs, identifier=me)
        db.enter()
        check("doublebarrier/enter-%d" % k, sorted(c.get_children(arrived)), names)
        c.create(inside + "/" + me)
        for _ in range(5 * index):  # inside for a while, longer for some
            c.get(inside)
        c.delete(inside + "/" + me)
        db.leave()
        check("doublebarrier/leave-%d" % k, c.get_children(inside), [])
elif recipe == "party":
    start_together(c, root + "/ready", me, procs)
    party = c.Party(root + "/party", me)
    party.join()
    report("party/all-joined", wait_children(c, root + "/party", procs, WAIT))
    check("party/members", sorted(party), names)
    report("party/all-saw", rendezvous(c, root + "/saw", me, procs, WAIT))
    party.leave()
    check("party/left", me in list(party), False)
elif recipe == "partitioner":
    start_together(c, root + "/ready", me, procs)
    sp = c.SetPartitioner(root + "/partition", set=range(12), identifier=me, time_boundary=0.5)
    got = None
    for _ in range(4 * WAIT):  # each step waits at most 0.5 s or so
        if sp.failed:
            break
        if sp.release:
            sp.release_set()
        elif sp.acquired and len(c.get_children(root + "/partition/party")) == procs:
            got = sorted(sp)
            break
        else:
            sp.wait_for_acquire(0.5)
    report("partitioner/acquired", got is not None, "failed: %s" % sp.failed)
    if got is not None:
        print("part", *got, flush=True)
        # Hold the part until every process has printed its own: one
        # leaving early would have the others split the set again.
        report("partitioner/all-acquired", rendezvous(c, root + "/parted", me, procs, WAIT))
    sp.finish()
elif recipe == "queue":
    start_together(c, root + "/ready", me, procs)
    q = c.Queue(root + "/queue")
    for i in range(rounds):
        q.put(str(index * rounds + i + 1).encode())
    report("queue/all-put", rendezvous(c, root + "/put", me, procs, WAIT))
    while True:
        item = q.get()
        if item is None:
            break
        print("post", int(item), flush=True)
else:
    raise SystemExit("unknown recipe " + recipe)

c.stop()
c.close()
print("done", flush=True)
sys.exit(1 if failed else 0)
