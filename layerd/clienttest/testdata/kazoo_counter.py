"""One of several processes incrementing a kazoo Counter at once.

Usage: kazoo_counter.py HOST:PORT PATH N

It adds 1 to the counter at PATH N times and prints "post V" for each
increment, V being the value that increment wrote: over all processes the
values must be 1 … total, each once (the Counter's versioned setData makes
increments atomic; a lost update would show a value twice). With N = 0 it
prints "value V", the counter's value. Then it prints "done". It exits 1
on any error.
"""

import sys

from kazoo.client import KazooClient
from kazoo.recipe.counter import Counter

addr, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Concurrent increments collide (BadVersion) and retry: without end, but
# quickly; the Go test bounds the process's time.
c = KazooClient(hosts=addr, timeout=10,
                command_retry={"max_tries": -1, "delay": 0.005, "backoff": 1.5, "max_delay": 0.1})
c.start(timeout=30)
counter = Counter(c, path)
if n == 0:
    print("value", counter.value, flush=True)
for _ in range(n):
    counter += 1
    print("post", counter.post_value, flush=True)
c.stop()
c.close()
print("done", flush=True)
