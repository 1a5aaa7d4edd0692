package signals_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"zkfdb/shared/signals"
)

const childEnv = "SIGNALS_TEST_CHILD"

// TestMain runs, as the child of TestSecondSignalEndsAStuckShutdown, a
// daemon whose shutdown never finishes.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signals.Context(context.Background())
		defer stop()
		hangups := signals.OnHangup(func() { fmt.Println("hangup") })
		defer hangups()
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("stopping")
		select {} // a shutdown that hangs
	}
	os.Exit(m.Run())
}

// TestSecondSignalEndsAStuckShutdown: SIGHUP is heard and harmless; the
// first SIGTERM ends the context (the daemon says it is stopping); a
// second one terminates the process although its shutdown hangs.
func TestSecondSignalEndsAStuckShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	expect := func(want string) {
		t.Helper()
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("child said %q (%v), want %q", lines.Text(), lines.Err(), want)
		}
	}
	expect("ready")
	// SIGHUP is harmless: heard, twice, and the process goes on.
	for range 2 {
		cmd.Process.Signal(syscall.SIGHUP)
		expect("hangup")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	expect("stopping")
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child after a second SIGTERM: %v, want it ended by the signal", err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("child ended with %v, want killed by SIGTERM", exit)
	}
	if ctx.Err() != nil {
		t.Fatal("the child was killed by the test's timeout, not by the second signal")
	}
}
