package difftest

// KnownDifference is a behaviour in which Debian's ZooKeeper 3.8.0 (the
// reference server) answers differently from 3.9, which layerd implements
// (ZK-SEMANTICS §15). A case step marked with R.Known checks each server
// against the answer of its own version.
type KnownDifference struct {
	ID       string
	What     string // the behaviour
	ZK39     string // what 3.9.4 (and layerd) does
	Debian38 string // what Debian's 3.8.0 does
	// Cases names the cases that exercise it through steps marked Known.
	Cases string
}

// KnownDifferences is ZK-SEMANTICS §15, row by row.
var KnownDifferences = []KnownDifference{
	{
		ID:       "notification-zxid",
		What:     "zxid in the header of a watch notification",
		ZK39:     "the zxid of the triggering txn",
		Debian38: "always -1",
		Cases:    "every Raw.Events with events records their zxids as a Known step (raw/getchildren-op8, raw/addwatch-*, raw/watch-modes-*, raw/removewatches-recursive)",
	},
	{
		ID:       "exists-no-read",
		What:     "exists on a node whose ACL denies READ",
		ZK39:     "NOAUTH (since 3.9.2)",
		Debian38: "OK with the Stat",
		Cases:    "acl/exists-* cases mark the step Known(\"exists-no-read\", \"OK\", \"NOAUTH\")",
	},
	{
		ID:       "check-outside-multi",
		What:     "check (13) sent outside a multi",
		ZK39:     "UNIMPLEMENTED, then the connection is closed",
		Debian38: "no reply (a server exception)",
		Cases:    "raw/check-outside-multi (Raw.CheckAlone)",
	},
	{
		ID:       "create2-in-multi",
		What:     "result of a create2 (15) op inside a multi",
		ZK39:     "type 15 result with path and Stat",
		Debian38: "type 1 result, path only",
		Cases:    "raw/multi-create2",
	},
	{
		ID:       "watch-modes-coexist",
		What:     "several watch modes (standard, persistent, recursive) of one connection on one path",
		ZK39:     "coexist",
		Debian38: "one mode kept; a later addWatch replaces the earlier",
		Cases:    "raw/watch-modes-coexist",
	},
	{
		ID:       "remove-watches-types",
		What:     "removeWatches / checkWatches with type 1 or 2, and types 4 and 5",
		ZK39:     "types 1 and 2 match standard watches only; 4 and 5 are accepted",
		Debian38: "types 1 and 2 match any mode; 4 and 5 are unknown",
		Cases:    "raw/removewatches-persistent, raw/removewatches-recursive",
	},
	{
		ID:       "delete-container-op",
		What:     "a client sends deleteContainer (20)",
		ZK39:     "deletes the node (no session or ACL check, see §4)",
		Debian38: "always BADARGUMENTS",
		Cases:    "raw/delete-container-op",
	},
	{
		ID:       "watch-event-acl-filter",
		What:     "watch events filtered by the watcher's READ permission",
		ZK39:     "yes",
		Debian38: "yes, backported: no difference, compared like any other step",
		Cases:    "watch/acl-* cases, compared directly",
	},
}
