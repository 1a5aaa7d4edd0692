"""The check helpers of the kazoo scripts: each check prints "ok NAME"
when it passes and "FAIL NAME: why" when it does not; failed lists the
failures, for the script's exit status."""

failed = []


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
