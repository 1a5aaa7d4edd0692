package proccluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is one OS process of the cluster (an fdbserver, a sweeperd or a
// layerd) that can be killed, stopped, continued and started again with
// the same command line. Its output goes to a log file in the cluster's
// directory. Its methods are safe for concurrent use.
type Proc struct {
	// Name says what the process is and where: "fdbserver@127.0.0.2".
	Name string
	// Host is the loopback address the process binds (its "host").
	Host string
	// Addr is the address it serves: the client port of a layerd, the
	// gossip port of a sweeperd, the FDB port of an fdbserver.
	Addr string
	// MetricsAddr is the /metrics address of a layerd or a sweeperd.
	MetricsAddr string

	// Credential, if set, is the user and group the process runs as
	// from its next Start (the harness runs as root to do so).
	Credential *syscall.Credential

	path    string
	args    []string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool // SIGSTOPped
}

// Start starts the process; it fails if it already runs.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return fmt.Errorf("%s already runs", p.Name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s: %s %q\n", time.Now().Format(time.RFC3339Nano), p.path, p.args)
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a signal to the test's terminal does
	// not reach it; and killed if the harness dies, so that nothing it
	// started outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.Credential}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.cmd, p.done, p.stopped = cmd, done, false
	return nil
}

// Running reports whether the process runs (a SIGSTOPped one does).
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

func (p *Proc) runningLocked() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid returns the process id, 0 when it does not run.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited returns a channel closed when the process exits, nil when it
// does not run.
func (p *Proc) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return nil
	}
	return p.done
}

// Kill kills the process with SIGKILL (kill -9) and waits for it: no
// clean-up of its own runs. A process that does not run is left alone.
func (p *Proc) Kill() {
	p.signalAndWait(syscall.SIGKILL, 0)
}

// Terminate sends SIGTERM and waits up to grace for the process to exit,
// then kills it.
func (p *Proc) Terminate(grace time.Duration) {
	p.signalAndWait(syscall.SIGTERM, grace)
}

func (p *Proc) signalAndWait(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	if !p.runningLocked() {
		p.mu.Unlock()
		return
	}
	cmd, done, stopped := p.cmd, p.done, p.stopped
	p.mu.Unlock()
	cmd.Process.Signal(sig)
	if stopped && sig != syscall.SIGKILL {
		cmd.Process.Signal(syscall.SIGCONT) // a stopped process acts on SIGTERM only once continued
	}
	if sig != syscall.SIGKILL {
		select {
		case <-done:
			return
		case <-time.After(grace):
		}
		cmd.Process.Kill()
	}
	<-done
}

// Pause stops the process with SIGSTOP, as a long GC pause, a swapped-out
// host or a debugger would: its sockets stay open and nothing answers.
func (p *Proc) Pause() error {
	return p.signal(syscall.SIGSTOP, true)
}

// Resume continues a paused process (SIGCONT).
func (p *Proc) Resume() error {
	return p.signal(syscall.SIGCONT, false)
}

func (p *Proc) signal(sig syscall.Signal, stopped bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return fmt.Errorf("%s does not run", p.Name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	p.stopped = stopped
	return nil
}

// LogPath returns the file the process's output goes to.
func (p *Proc) LogPath() string { return p.logPath }
