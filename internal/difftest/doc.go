// Package difftest is the differential test harness: it runs scripted
// ZooKeeper operation sequences (Cases) through a real client
// (github.com/go-zookeeper/zk) against two servers, a reference (Debian's
// Apache ZooKeeper 3.8.0, see zkfdb/internal/zkref) and a target (layerd,
// which implements 3.9), and requires the two transcripts to be identical.
//
// A transcript is a list of steps; each step records the request, the error
// code, and the normalized result: data (text, or length and hash when
// large), children as a sorted set, ACLs in server order, watch events in
// arrival order, and Stats in which every value that may legitimately differ
// between two correct servers is replaced by its relations:
//
//   - zxids become ranks within the case ("Z1" < "Z2" < …; 0 stays "0"), so
//     equalities (czxid == mzxid, parent pzxid == child czxid) and orderings
//     (mzxid grew) are kept while the absolute values are not;
//   - ctime and mtime become "0", or a check that they are recent wall-clock
//     times, and "mtime=ctime" when the node was never modified (mzxid ==
//     czxid) or "mtime>=ctime" otherwise;
//   - ephemeralOwner becomes the case's session that owns the node ("s0",
//     "s1", …), or "0";
//   - the case's root path becomes "~".
//
// Versions, cversion, aversion, dataLength, numChildren, sequence suffixes
// and error codes are compared exactly.
//
// Each case runs under its own root, /difftest/<case>-<random>, so cases do
// not see each other and may run concurrently. The few cases about the real
// root ("/", /zookeeper) record only what is deterministic on a shared
// server (see R.Mask and R.ChildrenOf).
//
// Where Debian's 3.8.0 answers differently from 3.9 (ZK-SEMANTICS §15), a
// case marks the step with R.Known: each server's answer is then checked
// against the expectation for its own version (read from "srvr"), instead
// of against the other server. KnownDifferences lists them.
package difftest
