package keys

import "zkfdb/shared/store"

// The container index lists container nodes that became candidates for
// deletion, by the tick from which they may go, sharded like the TTL
// index:
//
//	(0, 6, shard, tick, tenant, path) → empty
//
// ZooKeeper deletes a container once it has had children and has none
// left, so the delete that removes a container's last child writes the
// entry (tick = now plus a grace period); the sweeper deletes the
// container if it is still empty and clears the entry either way. An
// index of candidates rather than of all containers keeps the sweep
// proportional to what changed (lock recipes create many containers).

// Container returns the container-index entry for node p of t due at tick.
func (t Tenant) Container(tick int64, p Path) []byte {
	return t.root.system().Pack(Tuple{sysContainers, nodeShard(t.id, p), tick, t.id, p.s})
}

// ContainersDue returns the entries of shard with a tick ≤ tick.
func (r Root) ContainersDue(shard int, tick int64) store.Range {
	return dueRange(r.system().Sub(sysContainers, shard), tick)
}

// ParseContainer parses a container-index key.
func (r Root) ParseContainer(key []byte) (NodeTimer, error) {
	return r.parseNodeTimer(key, "container", sysContainers)
}
