package zkref

import "syscall"

// sysProcAttr makes the kernel kill the JVM if the test process dies
// without calling Stop, so that no server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
