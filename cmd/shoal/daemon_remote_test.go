package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
)

func TestDaemonRemoteCommands(t *testing.T) {
	src, torrent := seedFixture(t, 300<<10, "32KiB")
	state := t.TempDir()
	ctl := startShoalUntil(t, rpcRe, "daemon", "--dir", src, "--state-dir", state, "--port", "0", "--rpc", "127.0.0.1:0", "--no-dht", "--no-trackers")
	addr := ctl.port
	run := func(args ...string) string {
		t.Helper()
		code, out, stderr := shoal(t, append(args, "--rpc", addr)...)
		if code != 0 {
			t.Fatalf("shoal %v: %d %s", args, code, stderr)
		}
		return out
	}
	if out := run("add", torrent, "--paused", "--sequential"); !strings.HasPrefix(out, "1: added: pack") {
		t.Fatalf("add: %q", out)
	}
	sequential := func() bool {
		var got struct {
			Torrents []struct {
				Seq bool `json:"sequential_download"`
			} `json:"torrents"`
		}
		if err := (&remoteFlags{rpc: addr}).call(t.Context(), "torrent-get", map[string]any{"fields": []string{"sequential_download"}}, &got); err != nil || len(got.Torrents) != 1 {
			t.Fatalf("torrent-get: %v %+v", err, got)
		}
		return got.Torrents[0].Seq
	}
	if !sequential() {
		t.Fatal("add --sequential is not sequential")
	}
	run("set", "1", "--sequential=false")
	if sequential() {
		t.Fatal("set --sequential=false left it sequential")
	}
	if out := run("add", torrent); !strings.Contains(out, "already there") {
		t.Fatalf("second add: %q", out)
	}
	if got := statusOf(t, addr, 1); got != "stopped" {
		t.Fatalf("added --paused, status %s", got)
	}
	hash := ls(t, addr)[0].Hash
	run("resume", hash[:6])
	eventually(t, "resume by hash prefix", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	if out := run("ls"); !strings.Contains(out, "seeding") || !strings.Contains(out, "pack") || strings.Count(out, "\n") != 1 {
		t.Fatalf("ls: %q", out)
	}
	run("set", "1", "--file", "1=skip", "--seed-ratio", "3")
	var shown struct {
		Wanted []bool `json:"wanted"`
		Files  []struct {
			Name string `json:"name"`
		} `json:"files"`
	}
	json.Unmarshal([]byte(run("show", "1", "--json")), &shown)
	if len(shown.Files) != 2 || len(shown.Wanted) != 2 || !shown.Wanted[0] || shown.Wanted[1] {
		t.Fatalf("show after set --file 1=skip: %+v", shown)
	}
	if out := run("show", "1"); !strings.Contains(out, "skip    pack/b.bin") {
		t.Fatalf("show: %s", out)
	}
	// Asked alone, as transmission-remote -l asks each second, the sizes
	// still count the skipped file out.
	var sizes struct {
		Torrents []struct {
			Total   int64   `json:"totalSize"`
			When    int64   `json:"sizeWhenDone"`
			Left    int64   `json:"leftUntilDone"`
			Percent float64 `json:"percentDone"`
		} `json:"torrents"`
	}
	if err := (&remoteFlags{rpc: addr}).call(t.Context(), "torrent-get", map[string]any{"fields": []string{"totalSize", "sizeWhenDone", "leftUntilDone", "percentDone"}}, &sizes); err != nil || len(sizes.Torrents) != 1 {
		t.Fatalf("torrent-get sizes: %v %+v", err, sizes)
	}
	if s := sizes.Torrents[0]; s.Total != 400<<10 || s.When != 300<<10 || s.Left != 0 || s.Percent != 1 {
		t.Fatalf("sizes with pack/b.bin skipped: %+v", s)
	}
	run("pause", "--all")
	eventually(t, "pause --all", func() (bool, string) { s := statusOf(t, addr, 1); return s == "stopped", s })
	run("recheck", "1")
	run("resume", "1")
	eventually(t, "recheck, then seeding", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })

	// Bad ids: one line each, and nothing changes.
	for _, args := range [][]string{{"show", "99"}, {"pause", "zz"}, {"rm", "ffff"}, {"pause"}} {
		code, _, stderr := shoal(t, append(args, "--rpc", addr)...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("shoal %v: code %d, %q", args, code, stderr)
		}
	}
	if code, _, stderr := shoal(t, "ls", "--rpc", "127.0.0.1:1"); code != 1 || !strings.Contains(stderr, "no shoal daemon") {
		t.Errorf("ls without a daemon: %d %q", code, stderr)
	}
	if code, _, stderr := shoal(t, "daemon", "--rpc", "0.0.0.0:0", "--state-dir", t.TempDir(), "--port", "0", "--no-dht"); code != 2 || !strings.Contains(stderr, "--rpc-auth") {
		t.Errorf("daemon on 0.0.0.0 without auth: %d %q", code, stderr)
	}

	run("rm", "1")
	if len(ls(t, addr)) != 0 {
		t.Fatal("rm left the torrent")
	}
	if _, err := os.Stat(filepath.Join(src, "pack", "a.bin")); err != nil {
		t.Fatal("rm without --delete-data deleted data")
	}
	run("stop")
	select {
	case code := <-ctl.done:
		ctl.done <- code
		if code != 0 {
			t.Fatalf("daemon exited %d after shoal stop", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not stop after shoal stop")
	}
}

// startDaemonProcess runs the shoal binary as a daemon and returns it and
// its RPC address.
func startDaemonProcess(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(shoalBinary(t), append([]string{"daemon", "--port", "0", "--rpc", "127.0.0.1:0", "--no-dht", "--no-trackers"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := rpcRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, m[1]
		}
	}
	t.Fatal("the daemon never said where its RPC is")
	return nil, ""
}

func TestDaemonKill9ResumesEveryTorrent(t *testing.T) {
	src, torrent := seedFixture(t, 300<<10, "32KiB")
	_, other := seedFixture(t, 200<<10, "32KiB")
	state := t.TempDir()
	daemonArgs := []string{"--dir", src, "--state-dir", state}
	cmd, addr := startDaemonProcess(t, daemonArgs...)
	shoal(t, "add", torrent, "--rpc", addr)
	shoal(t, "add", other, "--paused", "--dir", filepath.Join(src, "elsewhere"), "--rpc", addr)
	eventually(t, "seeding", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	before := ls(t, addr)
	cmd.Process.Kill() // SIGKILL: nothing saved at exit
	cmd.Wait()

	// A byte changed without its size or mtime: only a daemon that
	// trusts the resume state still reports every piece.
	p := filepath.Join(src, "pack", "a.bin")
	fi, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	b[0] ^= 0xff
	os.WriteFile(p, b, 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())

	_, addr = startDaemonProcess(t, daemonArgs...)
	eventually(t, "torrent 1 seeding again", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	after := ls(t, addr)
	if len(after) != 2 || after[0].Hash != before[0].Hash || after[1].Hash != before[1].Hash ||
		after[1].Status != "stopped" || after[0].Prog != 1 {
		t.Fatalf("before kill -9: %+v\nafter restart: %+v", before, after)
	}
}

func TestDaemonAddByURLAndMagnet(t *testing.T) {
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	raw, _ := os.ReadFile(torrent)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pack.torrent" {
			http.NotFound(w, r)
			return
		}
		w.Write(raw)
	}))
	defer web.Close()
	addr := startDaemon(t, src, t.TempDir())
	if code, out, stderr := shoal(t, "add", web.URL+"/pack.torrent", "--rpc", addr); code != 0 || !strings.Contains(out, "added: pack") {
		t.Fatalf("add by URL: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := shoal(t, "add", web.URL+"/missing.torrent", "--rpc", addr); code != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("add of a missing URL: %d %q", code, stderr)
	}
	m, err := meta.Load(torrent)
	if err != nil {
		t.Fatal(err)
	}
	// The same torrent by magnet is found, not added twice.
	if code, out, _ := shoal(t, "add", m.Magnet(), "--rpc", addr, "--json"); code != 0 || !strings.Contains(out, `"already there"`) {
		t.Fatalf("add by magnet: %d %q", code, out)
	}
	if l := ls(t, addr); len(l) != 1 {
		t.Fatalf("torrents: %+v", l)
	}
}

// TestDaemonMagnetPeerByHostName: the daemon looks up a magnet's x.pe
// host names as get does (it used to keep only literal addresses, so
// this magnet had no source at all).
func TestDaemonMagnetPeerByHostName(t *testing.T) {
	src, torrent := seedFixture(t, 200<<10, "32KiB")
	seeder := startShoal(t, "seed", torrent, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	m, err := meta.Load(torrent)
	if err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	addr := startDaemon(t, dl, t.TempDir())
	if code, out, stderr := shoal(t, "add", m.Magnet()+"&x.pe=localhost:"+seeder.port, "--rpc", addr); code != 0 {
		t.Fatalf("add magnet: %d %q %q", code, out, stderr)
	}
	eventually(t, "magnet by host name downloaded", func() (bool, string) { s := statusOf(t, addr, 1); return s == "seeding", s })
	if code, out, _ := shoal(t, "verify", torrent, "--dir", dl); code != 0 {
		t.Fatalf("data does not verify:\n%s", out)
	}
}

func TestDaemonProbe(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), t.TempDir())
	if !runningDaemon(t.Context(), addr) {
		t.Fatal("a running daemon was not found")
	}
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	if runningDaemon(t.Context(), strings.TrimPrefix(web.URL, "http://")) || runningDaemon(t.Context(), "127.0.0.1:1") {
		t.Fatal("found a daemon where there is none")
	}
}

// TestDaemonKeepsALimitSetWhileOff: a speed limit given while its switch
// is off (transmission-remote's "-u 250" before "-U") is kept across a
// restart, as transmission-daemon's settings.json keeps it; it was held
// only in the RPC server's memory.
func TestDaemonKeepsALimitSetWhileOff(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	start := func() (*background, *remoteFlags) {
		b := startShoalUntil(t, rpcRe, "daemon", "--dir", dir, "--state-dir", state, "--port", "0", "--rpc", "127.0.0.1:0", "--no-dht", "--no-trackers")
		return b, &remoteFlags{rpc: b.port}
	}
	type limits struct {
		Up   int64 `json:"speed-limit-up"`
		UpOn bool  `json:"speed-limit-up-enabled"`
		DQ   int   `json:"download-queue-size"`
	}
	get := func(rf *remoteFlags) limits {
		var l limits
		if err := rf.call(t.Context(), "session-get", nil, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	d, rf := start()
	if err := rf.call(t.Context(), "session-set", map[string]any{"speed-limit-up": 250, "speed-limit-up-enabled": false, "download-queue-size": 3}, nil); err != nil {
		t.Fatal(err)
	}
	if l := get(rf); l != (limits{250, false, 3}) {
		t.Fatalf("after session-set: %+v", l)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("daemon stopped with %d", code)
	}
	_, rf = start()
	if l := get(rf); l != (limits{250, false, 3}) {
		t.Fatalf("after a restart: %+v", l)
	}
	if err := rf.call(t.Context(), "session-set", map[string]any{"speed-limit-up-enabled": true}, nil); err != nil {
		t.Fatal(err)
	}
	if l := get(rf); l != (limits{250, true, 3}) {
		t.Fatalf("switched on: %+v", l)
	}
}
