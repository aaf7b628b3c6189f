package delayproxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// target accepts one connection and hands it to the test.
func target(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return ln.Addr().String(), ch
}

func start(t *testing.T, cfg Config) (p *Proxy, client, server net.Conn) {
	t.Helper()
	addr, accepted := target(t)
	cfg.Target = addr
	p, err := Listen(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	client, err = net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy never dialled the target")
	}
	t.Cleanup(func() { server.Close() })
	return p, client, server
}

// Every byte arrives, in order, and none before the delay: each direction
// is timed from just before the write to the end of the read.
func TestDelaysBothWaysAndKeepsBytes(t *testing.T) {
	const delay = 80 * time.Millisecond
	_, client, server := start(t, DefaultConfig("", delay))
	for _, dir := range []struct {
		name     string
		from, to net.Conn
	}{{"client to server", client, server}, {"server to client", server, client}} {
		msg := make([]byte, 300<<10)
		rand.Read(msg)
		sent := time.Now()
		go dir.from.Write(msg)
		got := make([]byte, len(msg))
		first := make([]byte, 1)
		if _, err := io.ReadFull(dir.to, first); err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
		if e := time.Since(sent); e < delay {
			t.Fatalf("%s: first byte after %v, before the %v delay", dir.name, e, delay)
		}
		got[0] = first[0]
		if _, err := io.ReadFull(dir.to, got[1:]); err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%s: bytes changed on the way", dir.name)
		}
	}
}

// A half-close passes through after the delay, after the data.
func TestEOFFollowsData(t *testing.T) {
	const delay = 50 * time.Millisecond
	_, client, server := start(t, DefaultConfig("", delay))
	sent := time.Now()
	client.Write([]byte("last words"))
	client.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "last words" {
		t.Fatalf("got %q, %v", got, err)
	}
	if e := time.Since(sent); e < delay {
		t.Fatalf("end of stream after %v, before the %v delay", e, delay)
	}
}

// The delay is paid once, not per chunk: 8 MiB in 16 KiB chunks through a
// 100 ms delay would take 51 s if each chunk waited in turn; the bound
// leaves room for a loaded machine.
func TestDelayDoesNotLimitBandwidth(t *testing.T) {
	const delay = 100 * time.Millisecond
	cfg := DefaultConfig("", delay)
	cfg.ChunkSize = 16 << 10
	p, client, server := start(t, cfg)
	const size = 8 << 20
	sent := time.Now()
	go func() {
		client.Write(make([]byte, size))
		client.(*net.TCPConn).CloseWrite()
	}()
	n, err := io.Copy(io.Discard, server)
	if err != nil || n != size {
		t.Fatalf("read %d of %d: %v", n, size, err)
	}
	if d := p.Delivered(); d != size {
		t.Fatalf("the proxy counts %d bytes delivered, want %d", d, size)
	}
	if e := time.Since(sent); e > 150*delay {
		t.Fatalf("8 MiB took %v through a %v delay: chunks wait in turn", e, delay)
	}
}

// A full queue holds the reader back rather than growing: the put past
// the bound returns only once the writer released bytes.
func TestQueueIsBounded(t *testing.T) {
	q := newQueue(4 << 10)
	for range 4 {
		if !q.put(chunk{b: make([]byte, 1<<10)}) {
			t.Fatal("put failed")
		}
	}
	done := make(chan bool)
	go func() { done <- q.put(chunk{b: make([]byte, 1<<10)}) }()
	select {
	case <-done:
		t.Fatal("a fifth KiB went into a queue bounded at 4 KiB")
	case <-time.After(50 * time.Millisecond): // cannot pass wrongly: only a late failure goes unseen
	}
	_, _, n := q.takeDue(nil, time.Now())
	q.release(n)
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("put failed after release")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("put still blocked after the writer released everything")
	}
	q.fail()
	if q.put(chunk{b: []byte("x")}) {
		t.Fatal("put succeeded on a failed queue")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{Target: "x:1", Delay: -time.Second, MaxBuffered: 1 << 20, ChunkSize: 1 << 10},
		{Target: "x:1", MaxBuffered: 1 << 20},
		{Target: "x:1", MaxBuffered: 10, ChunkSize: 1 << 10},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v passed validation", c)
		}
	}
	if err := DefaultConfig("x:1", time.Second).Validate(); err != nil {
		t.Error(err)
	}
}
