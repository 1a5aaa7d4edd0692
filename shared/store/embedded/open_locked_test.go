package embedded_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"zkfdb/shared/store/embedded"
)

// lockHolderEnv names the data directory a child test process holds open
// until its stdin closes (TestOpenLocked).
const lockHolderEnv = "EMBEDDED_LOCK_HOLDER"

func lockHolder(dir string) int {
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer db.Close()
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// TestOpenLocked: a data directory another process holds fails with
// ErrLocked and a message that says so, not flock's "resource temporarily
// unavailable"; once that process is gone, it opens.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	holder := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), lockHolderEnv+"="+dir)
	holder.Stderr = os.Stderr
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("the holder said %q, %v", line, err)
	}

	_, err = embedded.Open(embedded.Options{Dir: dir})
	if !errors.Is(err, embedded.ErrLocked) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("Open of %s held by another process = %v, want ErrLocked saying so", dir, err)
	}
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("the holder: %v", err)
	}
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after the holder exited: %v", err)
	}
	db.Close()
}
