//go:build linux

package uringsync_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"zkfdb/shared/uringsync"
)

func openRing(t *testing.T, entries int) *uringsync.Ring {
	t.Helper()
	r, err := uringsync.Open(entries)
	if errors.Is(err, uringsync.ErrUnsupported) {
		t.Skipf("this kernel gives the process no io_uring (%v): the embedded engine syncs with plain system calls here", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSyncsFilesAndReportsErrors(t *testing.T) {
	r := openRing(t, 4)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("some data")); err != nil {
		t.Fatal(err)
	}
	for _, dataOnly := range []bool{true, false} {
		if err := r.Sync(f.Fd(), dataOnly); err != nil {
			t.Fatalf("sync (data only %v): %v", dataOnly, err)
		}
	}
	if got := r.Completed(); got != 2 {
		t.Fatalf("the ring did %d syncs, want 2", got)
	}
	// A descriptor that is not open: the kernel's error, as fsync(2)'s.
	bad := int(f.Fd()) + 1000
	err = r.Sync(uintptr(bad), true)
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "fdatasync" || !errors.Is(err, syscall.EBADF) {
		t.Fatalf("sync of a closed descriptor: %v, want fdatasync: EBADF", err)
	}
}

// More syncs at once than the ring has entries: each waits for a slot
// and every one gets its own result.
func TestConcurrentSyncsEachGetTheirResult(t *testing.T) {
	r := openRing(t, 2)
	dir := t.TempDir()
	const goroutines, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Create(filepath.Join(dir, string(rune('a'+g))))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for i := range each {
				if _, err := f.Write([]byte{byte(i)}); err != nil {
					errs <- err
					return
				}
				fd := f.Fd()
				if g%2 == 1 {
					fd += 1000 // not open: this goroutine's syncs must all fail
				}
				err := r.Sync(fd, i%2 == 0)
				if g%2 == 0 && err != nil {
					errs <- err
					return
				}
				if g%2 == 1 && !errors.Is(err, syscall.EBADF) {
					errs <- errors.New("a sync of a closed descriptor did not fail with EBADF: " + errString(err))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := r.Completed(); got != goroutines*each {
		t.Fatalf("the ring completed %d syncs, want %d", got, goroutines*each)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestSyncAfterCloseFails(t *testing.T) {
	r := openRing(t, 1)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(0, true); !errors.Is(err, uringsync.ErrClosed) {
		t.Fatalf("sync after close: %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
