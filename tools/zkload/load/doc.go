// Package load drives a ZooKeeper-protocol server with a fixed workload from
// many concurrent sessions and measures what it sees: operations per second,
// latency percentiles and errors by ZooKeeper error code. It is the engine
// of the zkload command, and any server speaking the protocol is a target:
// Apache ZooKeeper, layerd, an ensemble.
//
// A run of one workload against one target opens Config.Sessions sessions,
// creates the nodes the workload needs under a fresh root (Prefix plus a
// random suffix), runs Config.Depth goroutines per session issuing
// synchronous requests (so up to Depth requests are in flight on a
// connection), first for the warm-up and then for the measured phase
// (Duration, or exactly Ops operations), and finally deletes the root.
// Report compares targets run with the same Config, as ratios: speed is
// judged against Apache ZooKeeper run on the same machine in the same run,
// never by absolute figures.
package load
