package znode

import (
	"fmt"
	"strings"

	"zkfdb/shared/store"
)

// ZooKeeper's quotas (ZK-SEMANTICS §12): a client (zkCli's setquota)
// creates /zookeeper/quota<P>/zookeeper_limits and .../zookeeper_stats,
// and ZooKeeper's DataTree then keeps the stats node's data equal to the
// count of nodes in P's subtree (P included) and the sum of their data
// lengths, rewriting it in place (no version or mzxid change) on every
// write below P.
//
// Keeping such a counter on every write would make every write under P
// read the quota registry and update one hot key. We compute the same
// figures when the stats node is read instead: the answer is the one
// ZooKeeper gives, the Stat keeps its version and mzxid as ZooKeeper's
// does, and writes pay nothing. A read of the stats node walks P's
// subtree, as ZooKeeper does when the stats node is created or the server
// starts. Nested quotas, which zkCli refuses to create, are counted over
// the whole subtree (ZooKeeper credits a write only to the deepest quota).
const (
	quotaRoot      = "/zookeeper/quota"
	quotaLimitNode = "zookeeper_limits"
	quotaStatNode  = "zookeeper_stats"
)

// quotaOf returns P if p is the stats node of a quota on P.
func quotaOf(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, quotaRoot)
	if !ok {
		return "", false
	}
	quoted, ok := strings.CutSuffix(rest, "/"+quotaStatNode)
	if !ok || quoted == "" || quoted[0] != '/' {
		return "", false // a quota on "/" is ignored
	}
	return quoted, true
}

// quotaStats returns the data ZooKeeper would hold in p's stats node, if
// p is the stats node of a registered quota (its limits node exists).
func (tr *Tree) quotaStats(r store.Reader, p string) ([]byte, bool, error) {
	quoted, ok := quotaOf(p)
	if !ok {
		return nil, false, nil
	}
	limits, _, err := tr.readNode(r, quotaRoot+quoted+"/"+quotaLimitNode, false)
	if err != nil || !limits.exists {
		return nil, false, err
	}
	count, bytes, err := tr.subtreeSize(r, quoted)
	if err != nil {
		return nil, false, err
	}
	return fmt.Appendf(nil, "count=%d,bytes=%d", count, bytes), true, nil
}

// subtreeSize counts the nodes of p's subtree, p included, and sums their
// data lengths, level by level.
func (tr *Tree) subtreeSize(r store.Reader, p string) (count, bytes int64, err error) {
	level := []string{p}
	for len(level) > 0 {
		var next []string
		for _, q := range level {
			n, _, err := tr.readNode(r, q, false)
			if err != nil {
				return 0, 0, err
			}
			if !n.exists {
				continue
			}
			count++
			bytes += int64(max(n.rec.dataLength, 0))
			if numChildren(n.counts) == 0 {
				continue
			}
			names, err := tr.children(r, q)
			if err != nil {
				return 0, 0, err
			}
			for _, name := range names {
				next = append(next, q+"/"+name)
			}
		}
		level = next
	}
	return count, bytes, nil
}

// withQuotaStats replaces a stats node's data, and its Stat's
// dataLength, by what ZooKeeper would hold in it.
func (tr *Tree) withQuotaStats(r store.Reader, p string, rd *Read, withData bool) error {
	data, ok, err := tr.quotaStats(r, p)
	if err != nil || !ok {
		return err
	}
	rd.Stat.DataLength = int32(len(data))
	if withData {
		rd.Data = data
	}
	return nil
}
