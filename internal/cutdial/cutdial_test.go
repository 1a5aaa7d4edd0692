package cutdial_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"zkfdb/internal/cutdial"
)

// TestDieCutsAndRefuses: Die closes the open connection, so that its peer
// reads EOF, and refuses dials until Revive.
func TestDieCutsAndRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()

	var d cutdial.Dialer
	nc, err := d.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	peer := <-accepted
	defer peer.Close()
	d.Die()
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the server read %v after Die, want EOF", err)
	}
	if _, err := d.Dial("tcp", ln.Addr().String(), time.Second); !errors.Is(err, cutdial.ErrDead) || !d.Dead() {
		t.Fatalf("Dial after Die = %v (dead %v), want ErrDead", err, d.Dead())
	}
	d.Revive()
	if d.Dead() {
		t.Fatal("dead after Revive")
	}
	again, err := d.Dial("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatalf("Dial after Revive: %v", err)
	}
	again.Close()
	(<-accepted).Close()
}
