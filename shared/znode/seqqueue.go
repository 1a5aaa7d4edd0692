package znode

import (
	"context"
	"hash/maphash"
	"slices"
)

// Sequential creates under one parent all read the parent's child counter
// (the sequence number is its cversion) and write it: of n concurrent
// ones, one commits and n−1 conflict and retry, and again. ZooKeeper
// queues them. On FoundationDB, 64 lock contenders creating their nodes at
// once under one parent took about 8 s and 5,400 conflicts before all had
// one (docs/benchmarks.md, "layerd on FoundationDB"). So a Tree queues its
// own sequential creates by parent: one per parent is in flight from this
// process at a time; those of other processes still conflict with it.
// On the embedded engine, where a conflicted create retries into the next
// commit batch at once, the queue costs a lock recipe about a tenth of its
// throughput (each create waits for its predecessor's fsync) at the same
// p99. Parents share seqQueues queues by hash; two that share one wait for
// each other.
const seqQueues = 256

// seqQueue is a one-slot semaphore per queue, so that a wait ends with its
// request's context (a plain mutex would queue a timed-out request behind
// a store that is down).
type seqQueue struct {
	seed  maphash.Seed
	slots [seqQueues]chan struct{}
}

func newSeqQueue() *seqQueue {
	q := &seqQueue{seed: maphash.MakeSeed()}
	for i := range q.slots {
		q.slots[i] = make(chan struct{}, 1)
	}
	return q
}

func (q *seqQueue) index(parent string) int {
	return int(maphash.String(q.seed, parent) % seqQueues)
}

// enter waits for the queues of the parents of ops' sequential creates,
// in ascending order (a multi may create under several parents), and
// returns the function that leaves them. Without sequential creates it
// takes nothing.
func (q *seqQueue) enter(ctx context.Context, ops []Op) (leave func(), err error) {
	var held []int
	for _, op := range ops {
		c, ok := op.(CreateOp)
		if !ok {
			continue
		}
		if m, err := createMode(c); err != nil || !m.sequential {
			continue
		}
		parent, ok := splitParent(c.Path)
		if !ok {
			continue
		}
		i := q.index(parent)
		if !slices.Contains(held, i) {
			held = append(held, i)
		}
	}
	if len(held) == 0 {
		return func() {}, nil // every write passes here: no closure to allocate
	}
	slices.Sort(held)
	leave = func() {
		for _, i := range held {
			<-q.slots[i]
		}
	}
	for n, i := range held {
		select {
		case q.slots[i] <- struct{}{}:
		case <-ctx.Done():
			held = held[:n]
			leave()
			return nil, ctx.Err()
		}
	}
	return leave, nil
}
