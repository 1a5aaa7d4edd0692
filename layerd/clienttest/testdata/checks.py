"""The helpers of the kazoo scripts. Checks: each prints "ok NAME" when
it passes and "FAIL NAME: why" when it does not; failed lists the
failures, for the script's exit status. Rendezvous of several processes:
wait_children, rendezvous and start_together."""

import threading

failed = []


def wait_children(c, path, n, timeout=60):
    """Waits, through a ChildrenWatch, until path has at least n children,
    and reports whether it did within timeout seconds."""
    enough = threading.Event()

    def watch(children):
        if len(children) >= n:
            enough.set()
            return False  # stop watching
        return None

    c.ensure_path(path)
    c.ChildrenWatch(path)(watch)
    return enough.wait(timeout)


def rendezvous(c, path, me, procs, timeout=60, ephemeral=False):
    """Registers me under path and reports whether all procs processes
    have within timeout seconds. A persistent mark (the default) outlives
    its process, so that one that comes late still counts those that went
    on and ended."""
    c.ensure_path(path)
    c.create(path + "/" + me, ephemeral=ephemeral)
    return wait_children(c, path, procs, timeout)


def start_together(c, path, me, procs):
    """Returns when all procs processes have registered under path: the
    processes then contend from the same moment."""
    if not rendezvous(c, path, me, procs, ephemeral=True):
        raise SystemExit("not all %d processes at %s within 60 s" % (procs, path))


def report(name, ok, why=""):
    if ok:
        print("ok", name, flush=True)
    else:
        print("FAIL %s: %s" % (name, why), flush=True)
        failed.append(name)


def check(name, got, want):
    report(name, got == want, "got %r, want %r" % (got, want))


def raises(name, exc, fn, *args, **kwargs):
    try:
        got = fn(*args, **kwargs)
    except exc:
        report(name, True)
    except Exception as e:  # noqa: BLE001 - any other error fails the check
        report(name, False, "raised %r, want %s" % (e, exc.__name__))
    else:
        report(name, False, "returned %r, want %s" % (got, exc.__name__))
