package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// TestMain removes the binary the end-to-end tests built, so runs do not
// leave 30 MB behind in the temporary directory each.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// shoalBinary builds the real binary once for the end-to-end tests.
func shoalBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shoal-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "shoal")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// startTmux runs command in a fresh tmux server of its own, 100x30.
func startTmux(t *testing.T, command string) *tmuxSession {
	t.Helper()
	return startTmuxSized(t, command, 100, 30)
}

// startTmuxSized runs command in a fresh tmux server, w×h.
func startTmuxSized(t *testing.T, command string, w, h int) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("SHOAL_REQUIRE_TMUX") != "" {
			t.Fatal("tmux is required (SHOAL_REQUIRE_TMUX is set) but not installed")
		}
		t.Skip("tmux not installed: skipping the terminal UI end-to-end test (apt-get install tmux)")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("shoal-test-%d-%s", os.Getpid(), t.Name())}
	s.tmux("new-session", "-d", "-s", "shoal", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

// waitExit waits for the status a tmux command wrote to exitFile.
func (s *tmuxSession) waitExit(exitFile string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(exitFile)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			return strings.TrimSpace(string(data))
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the program did not exit; the screen:\n%s", s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDemoUnderTmux(t *testing.T) {
	bin := shoalBinary(t)
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, fmt.Sprintf("%s demo --size 6MiB --rate 3MiB --leechers 3; echo $? > %s; sleep 60", bin, exitFile))

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
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("shoal demo exited %s after q", code)
	}
}

// TestUITmuxScrollAndResize: 33 torrents in an 80×24 terminal scroll
// with the cursor; a resize to 200×60 in the middle re-lays out at once
// (wider columns come back), and back to 80×24 they go again.
func TestUITmuxScrollAndResize(t *testing.T) {
	bin := shoalBinary(t)
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmuxSized(t, fmt.Sprintf("%s demo --size 1MiB --rate 1MiB --leechers 32; echo $? > %s; sleep 60", bin, exitFile), 80, 24)
	s.waitFor("the list at 80x24", 30*time.Second, func(scr string) bool {
		return strings.Contains(scr, "leecher 1 ") && strings.Contains(scr, "PEERS") && strings.Contains(scr, "ETA") && strings.Contains(scr, "1/33")
	})
	s.tmux("send-keys", "-t", "shoal", "G")
	s.waitFor("the last torrent, selected and on screen", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, ">leecher 32") && strings.Contains(scr, "33/33")
	})
	s.tmux("send-keys", "-t", "shoal", "-l", "kkk")
	s.waitFor("three up, typed in one go", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, ">leecher 29") && strings.Contains(scr, "30/33")
	})
	s.tmux("send-keys", "-t", "shoal", "Enter")
	s.waitFor("the detail of the torrent on screen", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "leecher 29") && strings.Contains(scr, "Peers  Pieces")
	})
	s.tmux("resize-window", "-t", "shoal", "-x", "200", "-y", "60")
	s.waitFor("the detail re-laid out at 200x60", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "pieces of") && strings.Count(scr, "\n") >= 59
	})
	s.tmux("send-keys", "-t", "shoal", "Escape")
	s.waitFor("the wide list", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "RATIO") && strings.Contains(scr, "DONE/SIZE") && strings.Contains(scr, ">leecher 29")
	})
	s.tmux("resize-window", "-t", "shoal", "-x", "80", "-y", "24")
	s.waitFor("the narrow list again", 10*time.Second, func(scr string) bool {
		return !strings.Contains(scr, "RATIO") && strings.Contains(scr, ">leecher 29") && strings.Contains(scr, "30/33")
	})
	s.tmux("send-keys", "-t", "shoal", "q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("shoal demo exited %s after q", code)
	}
}

// TestWatchAttachesAndDetaches: shoal watch shows a running daemon seed,
// quits, and the seed keeps serving.
func TestWatchAttachesAndDetaches(t *testing.T) {
	bin := shoalBinary(t)
	src, tor := seedFixture(t, 1<<20, "32KiB")
	state := t.TempDir()
	seed := exec.Command(bin, "seed", tor, "--dir", src, "--port", "0", "--state-dir", state, "--daemon", "--no-dht", "--no-port-forwarding")
	out, err := seed.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seed.Process.Kill(); seed.Wait() })
	sc := bufio.NewScanner(out)
	port := ""
	for sc.Scan() {
		if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
			port = m[1]
			break
		}
	}
	go io.Copy(io.Discard, out)
	if port == "" {
		t.Fatal("the daemon never said where it listens")
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, fmt.Sprintf("%s watch --state-dir %s; echo $? > %s; sleep 60", bin, state, exitFile))
	s.waitFor("the seed in the list", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, "pack") && strings.Contains(scr, "seeding")
	})
	s.tmux("send-keys", "-t", "shoal", "q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("watch exited %s", code)
	}
	// The seed is still serving.
	dl := t.TempDir()
	if code, _, stderr := shoal(t, "get", tor, "--dir", dl, "--peer", "127.0.0.1:"+port, "--no-seed", "--port", "0", "--state-dir", t.TempDir()); code != 0 {
		t.Fatalf("the seed stopped serving after watch detached: %s", stderr)
	}
}

// TestWatchTracker shows a tracker's swarms from its /stats.
func TestWatchTracker(t *testing.T) {
	bin := shoalBinary(t)
	tr := startShoalUntil(t, regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/announce`), "tracker", "--http", "127.0.0.1:0", "--udp", "")
	hash := strings.Repeat("\xab", 20)
	for i := range 3 {
		u := fmt.Sprintf("http://127.0.0.1:%s/announce?info_hash=%s&peer_id=-AA0001-%012d&port=%d&left=%d", tr.port, url.QueryEscape(hash), i, 5000+i, i%2)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, fmt.Sprintf("%s watch --tracker http://127.0.0.1:%s; echo $? > %s; sleep 60", bin, tr.port, exitFile))
	s.waitFor("the swarm", 15*time.Second, func(scr string) bool {
		return strings.Contains(scr, strings.Repeat("ab", 20)) && strings.Contains(scr, "1 torrent, 2 seeders, 1 leecher")
	})
	s.tmux("send-keys", "-t", "shoal", "q")
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("watch --tracker exited %s", code)
	}
}

// TestGetUIExitsWhenDone: with the UI open, get --no-seed still stops by
// itself once the download is complete (the stop rule runs beside the UI).
func TestGetUIExitsWhenDone(t *testing.T) {
	bin := shoalBinary(t)
	src, tor := seedFixture(t, 2<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--up-limit", "1MiB")
	dl, exitFile := t.TempDir(), filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, fmt.Sprintf("%s get %s --dir %s --peer 127.0.0.1:%s --no-seed --no-dht --no-port-forwarding --port 0 --state-dir %s; echo $? > %s; sleep 60",
		bin, tor, dl, seeder.port, t.TempDir(), exitFile))
	s.waitFor("the UI", 15*time.Second, func(scr string) bool { return strings.Contains(scr, "pack") })
	if code := s.waitExit(exitFile); code != "0" {
		t.Fatalf("get exited %s; the screen:\n%s", code, s.screen())
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("data does not verify:\n%s", out)
	}
}
