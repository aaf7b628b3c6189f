package swarm

import (
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

func TestHalfOpenConnectionsAreBounded(t *testing.T) {
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "h.bin", Size: 1 << 20})
	seedS, _ := startSeeder(t, f, func(c *SessionConfig) { c.MaxHalfOpen = 8 })
	// 50 connections that never say a word.
	var silent []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", seedS.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		silent = append(silent, c)
	}
	// All but the newest 8 are closed at once, not after the handshake
	// timeout.
	closed := make(chan bool, len(silent))
	deadline := time.Now().Add(2 * time.Second)
	for _, c := range silent {
		go func() {
			c.SetReadDeadline(deadline)
			_, err := c.Read(make([]byte, 1))
			closed <- err != nil && !isTimeout(err)
		}()
	}
	n := 0
	for range silent {
		if <-closed {
			n++
		}
	}
	if n < 42 {
		t.Fatalf("%d of 50 silent connections closed within 2s, want at least 42", n)
	}
	if n := seedS.halfOpen.Load(); n > 8 {
		t.Fatalf("%d half-open connections, cap 8", n)
	}
	// With the 8 still silent, a real peer gets through at once: the
	// oldest half-open connection makes way for it.
	leechS := newTestSession(t)
	dl := t.TempDir()
	waitComplete(t, addTorrent(t, leechS, f.m, dl, seedS.Addr()), 5*time.Second)
	sameContent(t, f, dl)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// fdShortStorage fails its first writes as a process out of descriptors
// does.
type fdShortStorage struct {
	*memStorage
	failures int
}

func (s *fdShortStorage) WriteAt(p []byte, off int64) (int, error) {
	if s.writes.Add(1) <= int64(s.failures) {
		return 0, fmt.Errorf("open data file: %w", syscall.EMFILE)
	}
	return s.MemStorage.WriteAt(p, off)
}

func TestRunningOutOfDescriptorsIsNotADiskError(t *testing.T) {
	h := newHarness(t, harnessOpts{storage: func(l *piece.Layout, dir string) (storage, error) {
		return &fdShortStorage{memStorage: &memStorage{MemStorage: piece.NewMemStorage(l)}, failures: 5}, nil
	}})
	p := h.connect(peerOpts{})
	p.serve(h.content())
	p.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 10*time.Second)
	if s := h.snapshot(); s.State == StateError {
		t.Fatalf("torrent in error: %s", s.Error)
	}
}

func TestHalfOpenFloodFromOneHostSparesOthers(t *testing.T) {
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "h.bin", Size: 64 << 10})
	seedS, _ := startSeeder(t, f, func(c *SessionConfig) { c.MaxHalfOpen = 8 })
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", seedS.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	slow := dial("127.0.0.1") // an honest peer still handshaking
	for range 50 {
		dial("127.0.0.2")
	}
	// Wait until the flood has been seen (the cap holds), then check the
	// honest handshake was not closed to make room.
	deadline := time.Now().Add(5 * time.Second)
	for seedS.halfOpen.Load() < 3 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	slow.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := slow.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("the other host's handshake was closed by the flood: %v", err)
	}
}
