//go:build !linux

package zkserver

import "errors"

// poller parks idle connections without a goroutine on Linux
// (park_linux.go); elsewhere each waits on its own goroutine.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("zkserver: no poller on this system") }
func (p *poller) park(*conn) bool { return false }
func (p *poller) forget(*conn)    {}
func (p *poller) stop()           {}
