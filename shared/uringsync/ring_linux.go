//go:build linux

package uringsync

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h), the parts a
// ring of fsyncs needs.
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	opFsync          = 3 // IORING_OP_FSYNC
	fsyncDataSync    = 1 // IORING_FSYNC_DATASYNC
	registerEventFD  = 4 // IORING_REGISTER_EVENTFD
	sqeSize          = 64
	cqeSize          = 16
	sqeOffOpcode     = 0
	sqeOffFD         = 4
	sqeOffFsyncFlags = 28
	sqeOffUserData   = 32
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// Ring submits fsyncs to an io_uring and hands each result to the
// goroutine that asked for it. Submission takes one short system call
// (the kernel queues an fsync to its own worker thread at once, since
// an fsync cannot complete without blocking); completions are counted
// on an eventfd that a goroutine of the ring reads in Go's network
// poller. Safe for concurrent use.
type Ring struct {
	fd     int
	sqRing []byte
	cqRing []byte
	sqes   []byte

	sqTail  *uint32
	sqMask  uint32
	sqArray unsafe.Pointer // uint32[sq entries]
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    unsafe.Pointer

	events *os.File      // the eventfd the kernel counts completions on
	slots  chan struct{} // one per submission queue entry: a sync holds one until its result is in
	done   chan struct{} // closed when the completion goroutine has exited

	mu      sync.Mutex
	closed  bool
	next    uint64
	waiting map[uint64]chan int32 // by user data

	completed atomic.Uint64
}

// Open sets up a ring with room for entries syncs in flight at once.
// It fails with an error wrapping ErrUnsupported where the kernel has
// no io_uring or it is not allowed (older kernels, the
// kernel.io_uring_disabled sysctl, a seccomp filter such as a
// container runtime's default).
func Open(entries int) (*Ring, error) {
	if entries < 1 {
		entries = 1
	}
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		if errno == unix.ENOSYS || errno == unix.EPERM || errno == unix.EACCES {
			return nil, fmt.Errorf("uringsync: io_uring_setup: %w (%w)", errno, ErrUnsupported)
		}
		return nil, fmt.Errorf("uringsync: io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd)}
	fail := func(err error) (*Ring, error) {
		r.unmap()
		unix.Close(r.fd)
		return nil, err
	}
	var err error
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	if r.sqRing, err = unix.Mmap(r.fd, offSQRing, int(p.sqOff.array+p.sqEntries*4), prot, flags); err != nil {
		return fail(fmt.Errorf("uringsync: mmap submission ring: %w", err))
	}
	if r.cqRing, err = unix.Mmap(r.fd, offCQRing, int(p.cqOff.cqes+p.cqEntries*cqeSize), prot, flags); err != nil {
		return fail(fmt.Errorf("uringsync: mmap completion ring: %w", err))
	}
	if r.sqes, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries*sqeSize), prot, flags); err != nil {
		return fail(fmt.Errorf("uringsync: mmap submission entries: %w", err))
	}
	r.sqTail = (*uint32)(unsafe.Pointer(&r.sqRing[p.sqOff.tail]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&r.sqRing[p.sqOff.ringMask]))
	r.sqArray = unsafe.Pointer(&r.sqRing[p.sqOff.array])
	r.cqHead = (*uint32)(unsafe.Pointer(&r.cqRing[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&r.cqRing[p.cqOff.tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&r.cqRing[p.cqOff.ringMask]))
	r.cqes = unsafe.Pointer(&r.cqRing[p.cqOff.cqes])

	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail(fmt.Errorf("uringsync: eventfd: %w", err))
	}
	fd32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventFD, uintptr(unsafe.Pointer(&fd32)), 1, 0, 0); errno != 0 {
		unix.Close(efd)
		return fail(fmt.Errorf("uringsync: register eventfd: %w", errno))
	}
	// Non-blocking, so os.NewFile registers it with the network poller:
	// the completion goroutine waits parked, not in a system call.
	r.events = os.NewFile(uintptr(efd), "uringsync-completions")
	r.slots = make(chan struct{}, p.sqEntries)
	r.done = make(chan struct{})
	r.waiting = make(map[uint64]chan int32)
	go r.complete()
	return r, nil
}

func (r *Ring) unmap() {
	for _, m := range [][]byte{r.sqRing, r.cqRing, r.sqes} {
		if m != nil {
			unix.Munmap(m)
		}
	}
}

// Sync flushes fd's data to stable storage: fdatasync(2) where dataOnly,
// fsync(2) otherwise. The calling goroutine waits parked until the
// kernel's worker has done it, so its P runs other goroutines meanwhile
// (a blocking fsync system call holds it until the runtime's monitor
// takes it back, which with GOMAXPROCS 1 stalls every goroutine).
func (r *Ring) Sync(fd uintptr, dataOnly bool) error {
	r.slots <- struct{}{}
	defer func() { <-r.slots }()
	result := make(chan int32, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	id := r.next
	r.next++
	tail := *r.sqTail // only submitters write it, under mu
	i := tail & r.sqMask
	sqe := r.sqes[i*sqeSize : (i+1)*sqeSize]
	clear(sqe)
	sqe[sqeOffOpcode] = opFsync
	*(*int32)(unsafe.Pointer(&sqe[sqeOffFD])) = int32(fd)
	if dataOnly {
		*(*uint32)(unsafe.Pointer(&sqe[sqeOffFsyncFlags])) = fsyncDataSync
	}
	*(*uint64)(unsafe.Pointer(&sqe[sqeOffUserData])) = id
	*(*uint32)(unsafe.Add(r.sqArray, 4*uintptr(i))) = i
	atomic.StoreUint32(r.sqTail, tail+1)
	r.waiting[id] = result
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || n != 1 {
			// Not taken: undo the entry, so that no later submission
			// carries it.
			atomic.StoreUint32(r.sqTail, tail)
			delete(r.waiting, id)
			r.mu.Unlock()
			if errno == 0 {
				errno = unix.EAGAIN
			}
			return fmt.Errorf("uringsync: io_uring_enter: %w", errno)
		}
		break
	}
	r.mu.Unlock()
	switch res := <-result; {
	case res == closedResult:
		return ErrClosed
	case res < 0:
		return &os.SyscallError{Syscall: syncName(dataOnly), Err: syscall.Errno(-res)}
	}
	return nil
}

// closedResult is the result Close gives syncs still waiting; the
// kernel's results are 0 or a negated errno.
const closedResult = math.MinInt32

func syncName(dataOnly bool) string {
	if dataOnly {
		return "fdatasync"
	}
	return "fsync"
}

// complete hands each completion to its waiting Sync until Close.
func (r *Ring) complete() {
	defer close(r.done)
	var count [8]byte
	for {
		if _, err := r.events.Read(count[:]); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			// An eventfd read fails only when closed; anything else
			// would leave every sync waiting, so say so loudly.
			panic(fmt.Sprintf("uringsync: reading completions: %v", err))
		}
		r.mu.Lock()
		head := *r.cqHead
		for tail := atomic.LoadUint32(r.cqTail); head != tail; head++ {
			cqe := unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize)
			id := *(*uint64)(cqe)
			res := *(*int32)(unsafe.Add(cqe, 8))
			if ch, ok := r.waiting[id]; ok {
				delete(r.waiting, id)
				r.completed.Add(1) // before the waiter goes on
				ch <- res
			}
		}
		atomic.StoreUint32(r.cqHead, head)
		r.mu.Unlock()
	}
}

// Completed is how many syncs the ring has done since Open.
func (r *Ring) Completed() uint64 { return r.completed.Load() }

// Close releases the ring. Syncs still waiting fail with ErrClosed; the
// caller closes it after the last file it syncs.
func (r *Ring) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	err := r.events.Close()
	<-r.done
	r.mu.Lock()
	for id, ch := range r.waiting {
		delete(r.waiting, id)
		ch <- closedResult
	}
	r.mu.Unlock()
	// Closing the ring's descriptor waits for the kernel's workers to
	// finish what they hold before the memory goes.
	err = errors.Join(err, unix.Close(r.fd))
	r.unmap()
	return err
}
