package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
)

var rpcRe = regexp.MustCompile(`rpc on http://([0-9.:]+)/`)

// startDaemon runs shoal daemon in-process on loopback ports of its own
// and returns its RPC address.
func startDaemon(t *testing.T, dir, state string, extra ...string) string {
	t.Helper()
	args := append([]string{"daemon", "--dir", dir, "--state-dir", state, "--port", "0", "--rpc", "127.0.0.1:0",
		"--no-dht", "--no-trackers"}, extra...)
	return startShoalUntil(t, rpcRe, args...).port
}

// transmissionRemote finds Debian's transmission-remote, or skips.
func transmissionRemote(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("transmission-remote")
	if err != nil {
		if os.Getenv("SHOAL_REQUIRE_TRANSMISSION") != "" {
			t.Fatal("transmission-remote is required (SHOAL_REQUIRE_TRANSMISSION is set) but not installed")
		}
		t.Skip("transmission-remote not installed: skipping (apt-get install transmission-cli)")
	}
	return p
}

// tr runs transmission-remote against addr and returns its output.
func tr(t *testing.T, bin, addr string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{addr}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no ~/.netrc
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("transmission-remote %v: %v\n%s", args, err, out)
	}
	return string(out)
}

type lsLine struct {
	ID     int     `json:"id"`
	Name   string  `json:"name"`
	Status string  `json:"status"`
	Prog   float64 `json:"progress"`
	Hash   string  `json:"info_hash"`
}

// ls asks the daemon at addr for its torrents through shoal ls --json.
func ls(t *testing.T, addr string) []lsLine {
	t.Helper()
	code, out, stderr := shoal(t, "ls", "--rpc", addr, "--json")
	if code != 0 {
		t.Fatalf("shoal ls: %s", stderr)
	}
	var list []lsLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var x lsLine
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("ls line %q: %v", l, err)
		}
		list = append(list, x)
	}
	return list
}

// eventually polls cond until it holds, or fails with what it last saw.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

func statusOf(t *testing.T, addr string, id int) string {
	for _, x := range ls(t, addr) {
		if x.ID == id {
			return x.Status
		}
	}
	return "absent"
}

func TestDaemonWithTransmissionRemote(t *testing.T) {
	bin := transmissionRemote(t)
	src, torrent := seedFixture(t, 1<<20, "32KiB")
	m, err := meta.Load(torrent)
	if err != nil {
		t.Fatal(err)
	}
	hash := m.InfoHash.HexString()
	seeder := startDaemon(t, src, t.TempDir())
	if out := tr(t, bin, seeder, "-a", torrent); !strings.Contains(out, `"success"`) {
		t.Fatalf("-a: %s", out)
	}
	eventually(t, "the seeder seeding", func() (bool, string) { s := statusOf(t, seeder, 1); return s == "seeding", s })
	var sess struct {
		Port int `json:"peer-port"`
	}
	if err := (&remoteFlags{rpc: seeder}).call(t.Context(), "session-get", nil, &sess); err != nil {
		t.Fatal(err)
	}

	dst, leecherState := t.TempDir(), t.TempDir()
	leecher := startDaemon(t, dst, leecherState, "--peer", fmt.Sprintf("127.0.0.1:%d", sess.Port))
	// A download limit slow enough to see the peer connected.
	tr(t, bin, leecher, "-d", "100")
	tr(t, bin, leecher, "-u", "50")
	if out := tr(t, bin, leecher, "-si"); !strings.Contains(out, "Download speed limit: 100 kB/s") || !strings.Contains(out, "Upload speed limit: 50 kB/s") {
		t.Fatalf("-si after -d 100 -u 50:\n%s", out)
	}
	// The session's own limits, read beside the RPC (shoal watch's socket).
	path, err := findControl(leecherState)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dialControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.conn.Close()
	eng.Items()
	if down, up := eng.Limits(); down != 100_000 || up != 50_000 {
		t.Fatalf("after -d 100 -u 50 the session limits are %d, %d B/s", down, up)
	}
	tr(t, bin, leecher, "-a", m.Magnet())
	eventually(t, "the leecher in the seeder's peers (-pi)", func() (bool, string) {
		out := tr(t, bin, seeder, "-t", "1", "-pi")
		return strings.Contains(out, "127.0.0.1"), out
	})
	tr(t, bin, leecher, "-D", "-U")
	eng.Items()
	if down, up := eng.Limits(); down != 0 || up != 0 {
		t.Fatalf("after -D -U the session limits are %d, %d B/s", down, up)
	}
	eventually(t, "the download complete", func() (bool, string) { s := statusOf(t, leecher, 1); return s == "seeding", s })
	for _, f := range []string{"pack/a.bin", "pack/b.bin"} {
		a, _ := os.ReadFile(filepath.Join(src, f))
		b, _ := os.ReadFile(filepath.Join(dst, f))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs after the download", f)
		}
	}
	if out := tr(t, bin, leecher, "-l"); !regexp.MustCompile(`(?m)^\s+1\s+100%.*pack$`).MatchString(out) {
		t.Fatalf("-l:\n%s", out)
	}
	if out := tr(t, bin, leecher, "-t", "1", "-i"); !strings.Contains(out, "Hash: "+hash) || !strings.Contains(out, "Location: "+dst) {
		t.Fatalf("-i:\n%s", out)
	}
	if out := tr(t, bin, leecher, "-t", "1", "-f"); !strings.Contains(out, "pack/a.bin") || !strings.Contains(out, "pack/b.bin") {
		t.Fatalf("-f:\n%s", out)
	}
	// -pl gives a file low priority of its own (not normal), and -g, which
	// only says a file is wanted, keeps it.
	prios := func() string {
		var got struct {
			Torrents []struct {
				Priorities []int  `json:"priorities"`
				Wanted     []bool `json:"wanted"`
			} `json:"torrents"`
		}
		args := map[string]any{"ids": []int{1}, "fields": []string{"priorities", "wanted"}}
		if err := (&remoteFlags{rpc: leecher}).call(t.Context(), "torrent-get", args, &got); err != nil || len(got.Torrents) != 1 {
			t.Fatalf("torrent-get: %v %+v", err, got)
		}
		return fmt.Sprint(got.Torrents[0].Priorities, got.Torrents[0].Wanted)
	}
	tr(t, bin, leecher, "-t", "1", "-pl", "0")
	if got := prios(); got != "[-1 0] [true true]" {
		t.Fatalf("after -pl 0: priorities and wanted %s", got)
	}
	if out := tr(t, bin, leecher, "-t", "1", "-f"); !regexp.MustCompile(`(?m)^\s*0:.*Low.*pack/a.bin`).MatchString(out) {
		t.Fatalf("-f after -pl 0:\n%s", out)
	}
	tr(t, bin, leecher, "-t", "1", "-g", "0")
	if got := prios(); got != "[-1 0] [true true]" {
		t.Fatalf("-g changed a low file: %s", got)
	}
	tr(t, bin, leecher, "-t", "1", "-G", "0")
	tr(t, bin, leecher, "-t", "1", "-g", "0")
	if got := prios(); got != "[0 0] [true true]" {
		t.Fatalf("-G then -g: %s, want the file back at normal", got)
	}
	tr(t, bin, leecher, "-t", "1", "-S")
	eventually(t, "-S stopping it", func() (bool, string) { s := statusOf(t, leecher, 1); return s == "stopped", s })
	tr(t, bin, leecher, "-t", hash, "-s")
	eventually(t, "-s starting it", func() (bool, string) { s := statusOf(t, leecher, 1); return s == "seeding", s })
	if out := tr(t, bin, leecher, "-st"); !strings.Contains(out, "Downloaded:") {
		t.Fatalf("-st:\n%s", out)
	}
	// --move carries the data to another place under the daemon's roots;
	// anywhere else is refused with the reason.
	moved := filepath.Join(dst, "moved")
	tr(t, bin, leecher, "-t", "1", "--move", moved)
	eventually(t, "--move", func() (bool, string) {
		out := tr(t, bin, leecher, "-t", "1", "-i")
		return strings.Contains(out, "Location: "+moved) && statusOf(t, leecher, 1) == "seeding", out
	})
	if _, err := os.Stat(filepath.Join(moved, "pack", "a.bin")); err != nil {
		t.Fatalf("--move: %v", err)
	}
	dst = moved
	cmd := exec.Command(bin, leecher, "-t", "1", "--move", t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "outside the allowed directories") {
		t.Fatalf("--move outside the roots: %v %s", err, out)
	}

	// -r keeps the data, --remove-and-delete does not.
	tr(t, bin, seeder, "-t", "1", "-r")
	eventually(t, "-r removing it", func() (bool, string) { return len(ls(t, seeder)) == 0, fmt.Sprint(ls(t, seeder)) })
	if _, err := os.Stat(filepath.Join(src, "pack", "a.bin")); err != nil {
		t.Fatalf("-r deleted data: %v", err)
	}
	tr(t, bin, leecher, "-t", "1", "--remove-and-delete")
	if len(ls(t, leecher)) != 0 {
		t.Fatal("--remove-and-delete left the torrent")
	}
	if _, err := os.Stat(filepath.Join(dst, "pack")); !os.IsNotExist(err) {
		t.Fatalf("--remove-and-delete left the data: %v", err)
	}
}
