//go:build linux

package uringsync_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSync: a 100-byte append and an fdatasync per op, through the
// ring and as a plain system call.
func BenchmarkSync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	b.Run("ring", func(b *testing.B) {
		r := openRing(&testing.T{}, 8)
		defer r.Close()
		for b.Loop() {
			f.Write(buf)
			if err := r.Sync(f.Fd(), true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("syscall", func(b *testing.B) {
		for b.Loop() {
			f.Write(buf)
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
