package keys

// Clock returns the key of the cluster-wide clock: the cooperative tick
// counter, an 8-byte little-endian int64 (EncodeInt64) so that it can be
// read or changed with FDB's atomic ops. An absent key is tick 0.
//
// Every sweeperd (and layerd in embedded mode) runs the tick: read the
// clock, wait a second, write clock+1 in the same transaction; one commit
// wins each second and the others conflict. Session expiry, TTLs and
// containers are measured in these ticks, never in a host's wall clock.
// Everyone else only reads it, preferably by snapshot so that the tick
// does not conflict with their transactions.
func (r Root) Clock() []byte {
	return r.system().Pack(Tuple{sysClock})
}

// ClockStamp returns the key where each tick transaction also records
// the tick it wrote and, by SetVersionstampedValue, its own commit's
// versionstamp: Encode(tick) then the 10-byte stamp. A transaction whose
// read version is below that stamp's version read an earlier tick, which
// lets a layerd date its sessions' requests to the tick they arrived in
// (shared/clock.ReadStamp).
func (r Root) ClockStamp() []byte {
	return r.system().Pack(Tuple{sysClockStamp})
}
