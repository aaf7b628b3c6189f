package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives the real binary in a real terminal: tmux runs it,
// send-keys types, capture-pane reads the screen.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s *tmuxSession) tmux(args ...string) string {
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "shoal") }

// waitFor polls the screen until ok says so; a terminal program offers no
// other signal, so this is a bounded poll of its output, not a guess.
func (s *tmuxSession) waitFor(what string, within time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not appear within %v; the screen:\n%s", what, within, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDemoUnderTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("SHOAL_REQUIRE_TMUX") != "" {
			t.Fatal("tmux is required (SHOAL_REQUIRE_TMUX is set) but not installed")
		}
		t.Skip("tmux not installed: skipping the terminal UI end-to-end test (apt-get install tmux)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "shoal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	exitFile := filepath.Join(dir, "exit")
	s := &tmuxSession{t: t, socket: fmt.Sprintf("shoal-test-%d", os.Getpid())}
	s.tmux("new-session", "-d", "-s", "shoal", "-x", "100", "-y", "30",
		fmt.Sprintf("%s demo --size 6MiB --rate 3MiB --leechers 3; echo $? > %s; sleep 60", bin, exitFile))
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })

	s.waitFor("the torrent list", 30*time.Second, func(scr string) bool {
		return strings.Contains(scr, "seeder") && strings.Contains(scr, "leecher 3")
	})
	// Peers of the first leecher.
	s.tmux("send-keys", "-t", "shoal", "j", "Enter")
	s.waitFor("the peers tab", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "ADDRESS") && strings.Contains(scr, "127.0.0.1:") && strings.Contains(scr, "shoal")
	})
	// The piece map.
	s.tmux("send-keys", "-t", "shoal", "Tab")
	s.waitFor("the piece map", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "█") && strings.Contains(scr, "have") && strings.Contains(scr, "pieces of")
	})
	// Back to the list: every leecher completes and seeds.
	s.tmux("send-keys", "-t", "shoal", "Escape")
	s.waitFor("completion of every leecher", 60*time.Second, func(scr string) bool {
		return strings.Count(scr, "seeding") == 4
	})
	s.tmux("send-keys", "-t", "shoal", "q")
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(exitFile)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			if code := strings.TrimSpace(string(data)); code != "0" {
				t.Fatalf("shoal demo exited %s after q", code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shoal demo did not exit after q; the screen:\n%s", s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
