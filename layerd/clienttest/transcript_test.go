package clienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"zkfdb/internal/zkref"
)

// zkCliScript is Debian's zkCli.sh, the script zkref.ZkCli runs too.
const zkCliScript = "/usr/share/zookeeper/bin/zkCli.sh"

// marker is what "printwatches" prints once the script has turned the
// printing of watch events off. It is local to zkCli (no request), and
// runCli sends it after every command to cut the output into one part
// per command.
const marker = "printwatches is off"

// cliTimeout bounds one zkCli run: a JVM start and a few dozen requests.
const cliTimeout = 90 * time.Second

// runCli runs one zkCli session against addr: it starts zkCli.sh without a
// command, so that it reads commands from its standard input (JLine is not
// on Debian's classpath), writes cmds to it one a line, each followed by
// the marker command, and returns what each command printed (standard
// output and standard error together, in the order written), without the
// client's start-up chatter and connection events. "{addr}" in a command
// becomes addr (for "connect"). The session ends with "quit".
func runCli(ctx context.Context, t *testing.T, addr string, cmds []string) ([]string, error) {
	t.Helper()
	if _, err := os.Stat(zkCliScript); err != nil {
		return nil, fmt.Errorf("%w (%v)", zkref.ErrNotInstalled, err)
	}
	var in strings.Builder
	// printwatches off first: connection events (SyncConnected, Closed)
	// would otherwise be printed by the event thread, racing with the
	// commands' output. The filter below drops any that slip through.
	in.WriteString("printwatches off\nprintwatches\n")
	for _, c := range cmds {
		in.WriteString(strings.ReplaceAll(c, "{addr}", addr))
		in.WriteString("\nprintwatches\n")
	}
	in.WriteString("quit\n")

	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, zkCliScript, "-server", addr)
	logDir := t.TempDir()
	// TZ: the Stat times are printed in the JVM's zone, parsed as UTC.
	cmd.Env = append(os.Environ(), "TZ=UTC", "ZOO_LOG_DIR="+logDir,
		"CLIENT_JVMFLAGS=-Dzookeeper.log.dir="+logDir+" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
	cmd.Stdin = strings.NewReader(in.String())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out // one pipe: the two streams keep their order
	// zkCli.sh runs java as a child, not with exec: on timeout kill the
	// whole process group, so that no JVM outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	// zkCli exits with the status of the last failed command: only a
	// failure to run or a timeout is an error here.
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || ctx.Err() != nil) {
		return nil, fmt.Errorf("zkCli on %s: %w\n--- output ---\n%s", addr, err, out.String())
	}
	parts := splitCliOutput(out.String())
	if len(parts) != len(cmds)+2 {
		return nil, fmt.Errorf("zkCli on %s: %d markers in the output, want %d (one per command and one before the first)\n--- output ---\n%s",
			addr, len(parts)-1, len(cmds)+1, out.String())
	}
	// parts[0] is the start-up chatter; the last part what "quit" printed.
	return parts[1 : len(parts)-1], nil
}

var (
	// watcherBlock is what zkCli's default watcher prints for an event
	// (printMessage prefixes a newline): only connection events here,
	// as no command sets a watch.
	watcherBlock = regexp.MustCompile(`\nWATCHER::\n|\nWatchedEvent state:\w+ type:None path:null\n`)
	// noise are lines the JVM and the client print at any time.
	noise = regexp.MustCompile(`^(SLF4J: .*|Connecting to .*|Welcome to ZooKeeper!|JLine support is disabled)$`)
)

// splitCliOutput drops noise from zkCli's output and cuts it at the
// marker lines.
func splitCliOutput(out string) []string {
	out = watcherBlock.ReplaceAllString(out, "")
	parts := []string{""}
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case noise.MatchString(line):
		case line == marker:
			parts = append(parts, "")
		default:
			parts[len(parts)-1] += line + "\n"
		}
	}
	return parts
}

var (
	zxidLine  = regexp.MustCompile(`(?m)^(cZxid|mZxid|pZxid) = 0x([0-9a-f]+)$`)
	timeLine  = regexp.MustCompile(`(?m)^(ctime|mtime) = (.*)$`)
	ownerLine = regexp.MustCompile(`(?m)^ephemeralOwner = 0x([0-9a-f]+)$`)
)

// normalize rewrites a session's outputs so that two correct servers
// print the same: zxids become their rank among the zxids of the session
// ("Z1" < "Z2" < …; 0 stays "0"), keeping equalities and order but not
// values; times become "0" (the epoch) or "now" (within 10 minutes of
// the run), anything else "BAD(…)"; non-zero ephemeral owners become the
// session's rank of first appearance ("S1", "S2", …). Versions, counts,
// lengths, data, paths and error texts stay as printed.
func normalize(outs []string) []string {
	var zxids []uint64
	for _, o := range outs {
		for _, m := range zxidLine.FindAllStringSubmatch(o, -1) {
			z, _ := strconv.ParseUint(m[2], 16, 64)
			if z != 0 {
				zxids = append(zxids, z)
			}
		}
	}
	slices.Sort(zxids)
	zxids = slices.Compact(zxids)
	owners := map[string]string{}
	now := time.Now()

	norm := make([]string, len(outs))
	for i, o := range outs {
		o = zxidLine.ReplaceAllStringFunc(o, func(s string) string {
			m := zxidLine.FindStringSubmatch(s)
			z, _ := strconv.ParseUint(m[2], 16, 64)
			if z == 0 {
				return m[1] + " = 0"
			}
			r, _ := slices.BinarySearch(zxids, z)
			return fmt.Sprintf("%s = Z%d", m[1], r+1)
		})
		o = timeLine.ReplaceAllStringFunc(o, func(s string) string {
			m := timeLine.FindStringSubmatch(s)
			return m[1] + " = " + normalizeTime(m[2], now)
		})
		o = ownerLine.ReplaceAllStringFunc(o, func(s string) string {
			id := ownerLine.FindStringSubmatch(s)[1]
			if id == "0" {
				return "ephemeralOwner = 0"
			}
			if _, ok := owners[id]; !ok {
				owners[id] = fmt.Sprintf("S%d", len(owners)+1)
			}
			return "ephemeralOwner = " + owners[id]
		})
		norm[i] = o
	}
	return norm
}

// normalizeTime reads a time as Java's Date.toString prints it.
func normalizeTime(s string, now time.Time) string {
	t, err := time.Parse("Mon Jan 02 15:04:05 MST 2006", s)
	switch {
	case err != nil:
		return "BAD(" + s + ")"
	case t.Unix() == 0:
		return "0"
	case t.Sub(now).Abs() < 10*time.Minute:
		return "now"
	}
	return "BAD(" + s + ")"
}

// sortedOutput makes an output whose order is the server's hash order
// comparable: it sorts the elements of each "[a, b]" line, then the lines
// (the ACL entries of getAcl).
func sortedOutput(s string) string {
	if s == "" {
		return s
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") && len(l) > 2 {
			elems := strings.Split(l[1:len(l)-1], ", ")
			slices.Sort(elems)
			lines[i] = "[" + strings.Join(elems, ", ") + "]"
		}
	}
	// An ACL entry is two lines ("'scheme,'id", ": perms"): keep them together.
	var items []string
	for _, l := range lines {
		if strings.HasPrefix(l, ": ") && len(items) > 0 {
			items[len(items)-1] += "\n" + l
			continue
		}
		items = append(items, l)
	}
	slices.Sort(items)
	return strings.Join(items, "\n") + "\n"
}
