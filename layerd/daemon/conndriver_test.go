package daemon

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zkfdb/layerd/zkwire"
)

// connDriverEnv makes this test binary a driver of many client
// connections (runConnDriver) instead of running tests: a process of its
// own, so that the connections' client ends do not count against the
// server process's file descriptors.
const connDriverEnv = "ZKFDB_CONN_DRIVER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(connDriverEnv); spec != "" {
		os.Exit(runConnDriver(spec))
	}
	os.Exit(m.Run())
}

// runConnDriver opens count ("addr,count") sessions on raw connections,
// prints "connected N", then on each "ping" line from stdin pings every
// connection and prints "pinged N" (the answered ones), until stdin ends.
func runConnDriver(spec string) int {
	addr, n, ok := strings.Cut(spec, ",")
	count, err := strconv.Atoi(n)
	if !ok || err != nil {
		fmt.Fprintln(os.Stderr, "bad", connDriverEnv, spec)
		return 2
	}
	conns := make([]net.Conn, count)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= count {
					return
				}
				conns[k] = handshake(addr)
			}
		})
	}
	wg.Wait()
	connected := 0
	for _, c := range conns {
		if c != nil {
			connected++
		}
	}
	fmt.Printf("connected %d\n", connected)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "ping" {
			continue
		}
		var answered sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for _, c := range conns {
			if c == nil {
				continue
			}
			answered.Go(func() {
				if ping(c) {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		answered.Wait()
		fmt.Printf("pinged %d\n", ok)
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	return 0
}

// handshake opens a session of driverSessionTimeout and returns its
// connection, or nil.
func handshake(addr string) net.Conn {
	nc, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil
	}
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	req := zkwire.ConnectRequest{TimeOut: int32(driverSessionTimeout / time.Millisecond), Passwd: make([]byte, 16)}
	if _, err := nc.Write(zkwire.AppendFramed(nil, &req)); err != nil {
		nc.Close()
		return nil
	}
	frame, err := zkwire.ReadFrame(nc, 0)
	if err != nil {
		nc.Close()
		return nil
	}
	if resp, err := zkwire.DecodeConnectResponse(frame); err != nil || resp.SessionID == 0 {
		nc.Close()
		return nil
	}
	return nc
}

// driverSessionTimeout is the session timeout the driver asks for: the
// connections stay silent from their handshake to the ping, and opening
// 12,000 of them on a loaded two-core machine took 41 s; a connection
// silent for its timeout is closed, as ZooKeeper does.
const driverSessionTimeout = 4 * time.Minute

func ping(nc net.Conn) bool {
	nc.SetDeadline(time.Now().Add(time.Minute))
	if _, err := nc.Write(zkwire.AppendRequest(nil, zkwire.RequestHeader{Xid: zkwire.XidPing, Type: zkwire.OpPing}, nil)); err != nil {
		return false
	}
	frame, err := zkwire.ReadFrame(nc, 0)
	if err != nil {
		return false
	}
	h, _, err := zkwire.DecodeReplyHeader(frame)
	return err == nil && h.Xid == zkwire.XidPing && h.Err == zkwire.CodeOK
}
