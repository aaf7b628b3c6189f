package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-torrent/shoal/tui"
)

type stubEngine struct{ paused []int }

func (s *stubEngine) Items() []tui.Item                { return []tui.Item{{Label: "x"}} }
func (s *stubEngine) Pause(i int)                      { s.paused = append(s.paused, i) }
func (s *stubEngine) Resume(int)                       {}
func (s *stubEngine) SetFilePriority(int, int, string) {}
func (s *stubEngine) Remove(int)                       {}
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
	remote := &remoteEngine{conn: c, rd: r}
	if items := remote.Items(); len(items) != 1 || items[0].Label != "x" {
		t.Fatalf("items over the socket: %+v", items)
	}
	remote.Pause(3)
	if len(eng.paused) != 1 || eng.paused[0] != 3 {
		t.Fatalf("pause did not reach the engine: %v", eng.paused)
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
