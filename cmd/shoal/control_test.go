package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/tui"
)

type stubEngine struct {
	mu     sync.Mutex
	paused []int
}

func (s *stubEngine) Items() []tui.Item { return []tui.Item{{Label: "x"}} }
func (s *stubEngine) Pause(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = append(s.paused, i)
}
func (s *stubEngine) pauses() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paused)
}
func (s *stubEngine) Resume(int)                       {}
func (s *stubEngine) SetFilePriority(int, int, string) {}
func (s *stubEngine) Remove(int, bool) error           { return errors.New("cannot remove") }
func (s *stubEngine) Add(string) error                 { return nil }
func (s *stubEngine) Requeue(int, int) error           { return nil }
func (s *stubEngine) Limits() (int64, int64)           { return 1, 2 }
func (s *stubEngine) SetLimits(int64, int64)           {}

func TestControlSocketIsPrivateAndRobust(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shoal-1.sock")
	eng := &stubEngine{}
	stop, err := serveControl(path, eng)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", fi.Mode().Perm(), err)
	}
	if _, err := serveControl(path, eng); err == nil {
		t.Fatal("a second process took over a live socket")
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, line := range []string{"garbage\n", `{"op":"format-disk"}` + "\n"} {
		c.Write([]byte(line))
		if reply, _ := r.ReadString('\n'); !strings.Contains(reply, `"error"`) {
			t.Fatalf("%q answered %q", line, reply)
		}
	}
	remote := newRemoteEngine(c, r)
	if items := remote.Items(); len(items) != 1 || items[0].Label != "x" {
		t.Fatalf("items over the socket: %+v", items)
	}
	remote.Pause(3)
	eventually(t, "pause reaches the engine", func() (bool, string) {
		p := eng.pauses()
		return len(p) == 1 && p[0] == 3, fmt.Sprint(p)
	})
	if err := remote.Remove(0, true); err == nil || err.Error() != "cannot remove" {
		t.Fatalf("remove's refusal came back as %v", err)
	}
}

// TestWatchFindsRunningGet: a running get serves the control socket too,
// so shoal watch can attach to a download, not only to a seed.
func TestWatchFindsRunningGet(t *testing.T) {
	src, tor := seedFixture(t, 4<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--up-limit", "256KiB")
	state := t.TempDir()
	startShoal(t, "get", tor, "--dir", t.TempDir(), "--peer", "127.0.0.1:"+seeder.port, "--port", "0", "--state-dir", state)
	path, err := findControl(state)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dialControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.conn.Close()
	if items := eng.Items(); len(items) != 1 || items[0].Label != "pack" {
		t.Fatalf("items over the socket: %+v", items)
	}
}

// TestRemoteEngineDoesNotFreezeOnAStuckProcess: a process that accepts
// and never answers holds up neither the UI's keys nor its limits.
func TestRemoteEngineDoesNotFreezeOnAStuckProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stuck.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	remote, err := dialControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.conn.Close()
	go remote.Items() // holds the connection for its 10 s deadline
	start := time.Now()
	for range 2 * remoteQueue { // past the queue's bound: dropped, not waited for
		remote.Pause(0)
		remote.SetLimits(1, 2)
		remote.Limits()
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("keys took %v against a stuck process", d)
	}
}
