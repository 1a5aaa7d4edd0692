//go:build !linux

package zkref

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
