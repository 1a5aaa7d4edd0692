// Package clienttest runs real ZooKeeper clients against layerd: Debian's
// zkCli.sh (the Java client, through its command-line shell) and kazoo
// (python3-kazoo, the Python client, with scripts in testdata/). Each test
// starts layerd in process on the embedded engine and, where it compares,
// Apache ZooKeeper from Debian's package (zkfdb/internal/zkref), both on
// loopback, and stops them when it ends.
//
// The zkCli sessions are scripts of commands with what each prints,
// normalized (zxids as ranks, times as "now", session ids as ranks); every
// script runs against both servers, and both must print what it wants, so
// the reference proves the script. The kazoo scripts check their own
// results and run against both servers too.
//
// kazoo's recipes run with several client processes at once
// (kazoo_contend.py, kazoo_group.py, kazoo_counter.py), each process a
// python3 of its own, and the test checks what they printed together: a
// mutual exclusion that failed shows a value twice, a lost watch event
// leaves a process waiting until its timeout.
//
// If Debian's zookeeper or python3-kazoo package is missing, the tests
// fail and say to run ./scripts/test, which installs them.
package clienttest
