// Package buildinfo says what a daemon binary is: its release version,
// the commit it was built from, Go's version, and whether the
// FoundationDB engine is compiled in. --version prints it, and the
// packages and the four-letter words report it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"zkfdb/shared/store/engine"
)

// Version is the release version. Release builds set it with
//
//	go build -ldflags "-X zkfdb/shared/buildinfo.Version=1.2.3"
//
// (scripts that build packages do); a plain build says it is a
// development one.
var Version = "0.0.0-dev"

// ZooKeeperProtocol is the ZooKeeper release whose semantics layerd
// implements (ZK-SEMANTICS.md; where Debian's 3.8.0 differs, the
// differential tests expect 3.9's answers from a server that says 3.9):
// zookeeper.version reports it first, so that clients that parse it
// (kazoo's server_version()) and the differential harness know what to
// expect.
const ZooKeeperProtocol = "3.9.4"

// ZooKeeperVersion is what the four-letter words report as the server's
// version, in ZooKeeper's form ("3.8.0-<commit>, built on <date>"):
// the protocol release, then layerd's own version and commit.
func ZooKeeperVersion() string {
	built := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					built = t.UTC().Format("2006-01-02 15:04 UTC")
				}
			}
		}
	}
	commit, _, _ := strings.Cut(Commit(), " ")
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return fmt.Sprintf("%s-zkfdb-%s-%s, built on %s", ZooKeeperProtocol, Version, commit, built)
}

// Commit returns the VCS revision the binary was built from ("unknown"
// outside a checkout), marked "(modified)" when the tree had changes.
func Commit() string {
	rev, modified := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	return rev + modified
}

// String is what daemon's --version prints: its name, version, commit and
// Go's version on one line, and whether FoundationDB is compiled in.
func String(daemon string) string {
	fdb := "FoundationDB engine: not compiled in (build with -tags fdb)"
	if engine.FDBCompiledIn {
		fdb = "FoundationDB engine: compiled in (client API version 730)"
	}
	return fmt.Sprintf("%s %s commit %s %s\n%s\n", daemon, Version, Commit(), runtime.Version(), fdb)
}
