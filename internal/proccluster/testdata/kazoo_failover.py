"""kazoo through the process cluster: connect with every layerd in the
connect string, hold an ephemeral node and a data watch, print the server
in use, then (once the test says "go" on stdin, after killing that server)
check that the session came back with its ephemeral and watch.

Usage: kazoo_failover.py HOSTS  (HOSTS: host:port,host:port,...)
Prints "server HOST:PORT", then "ok" lines, one per check; exits 1 on a
failed check.
"""
import sys
import threading

from kazoo.client import KazooClient, KazooState


def main():
    hosts = sys.argv[1]
    zk = KazooClient(hosts=hosts, timeout=6.0, randomize_hosts=True)
    zk.start(timeout=30)
    states = []
    reconnected = threading.Event()

    def listener(state):
        states.append(state)
        if state == KazooState.CONNECTED and len(states) > 1:
            reconnected.set()

    zk.add_listener(listener)
    session = zk.client_id[0]
    zk.create("/kazoo-eph", b"", ephemeral=True)
    zk.ensure_path("/kazoo-w")
    changed = threading.Event()
    seen = []

    @zk.DataWatch("/kazoo-w")
    def watch(data, stat):
        seen.append(data)
        if data == b"after":
            changed.set()

    host, port = zk._connection._socket.getpeername()[:2]
    print(f"server {host}:{port}", flush=True)
    if sys.stdin.readline().strip() != "go":
        print("no go", flush=True)
        sys.exit(1)
    if not reconnected.wait(30):
        print(f"FAIL no reconnection in 30 s: states {states}", flush=True)
        sys.exit(1)
    print("ok reconnected", flush=True)
    if zk.client_id[0] != session:
        print(f"FAIL session {zk.client_id[0]:x}, was {session:x}", flush=True)
        sys.exit(1)
    print("ok same-session", flush=True)
    if zk.exists("/kazoo-eph") is None:
        print("FAIL the ephemeral is gone", flush=True)
        sys.exit(1)
    print("ok ephemeral", flush=True)
    zk.set("/kazoo-w", b"after")
    if not changed.wait(30):
        print(f"FAIL the data watch saw {seen}", flush=True)
        sys.exit(1)
    print("ok watch", flush=True)
    zk.stop()
    zk.close()


main()
