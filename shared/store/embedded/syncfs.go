package embedded

import (
	"github.com/cockroachdb/pebble/v2/vfs"

	"zkfdb/shared/uringsync"
)

// ringFS is the disk's file system with every file's and directory's
// Sync and SyncData done through an io_uring (shared/uringsync). The
// committer's fsync of the write-ahead log, once per commit batch, held
// the P of the goroutine that made it (Pebble's log flusher) until the
// runtime's monitor took it back; with layerd on one core that stalled
// every connection, and a profile of 64 sessions' setData had layerd's
// one core idle a fifth of the time. Through the ring the flusher waits
// parked and connections go on reading, replying and queueing the next
// batch. SyncTo (sstables' periodic write-back, off the commit path) is
// left to the file.
type ringFS struct {
	vfs.FS
	ring *uringsync.Ring
}

func (fs ringFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil || f.Fd() == vfs.InvalidFd {
		return f, err
	}
	return ringFile{File: f, ring: fs.ring}, nil
}

func (fs ringFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, category))
}

func (fs ringFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.Open(name, opts...))
}

func (fs ringFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, category, opts...))
}

func (fs ringFS) OpenDir(name string) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenDir(name))
}

func (fs ringFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, category))
}

type ringFile struct {
	vfs.File
	ring *uringsync.Ring
}

func (f ringFile) Sync() error     { return f.ring.Sync(f.Fd(), false) }
func (f ringFile) SyncData() error { return f.ring.Sync(f.Fd(), true) }
