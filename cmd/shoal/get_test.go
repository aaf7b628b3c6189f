package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// background runs a shoal command until the test cancels it, and returns
// the port it announced as listening on.
type background struct {
	cancel context.CancelFunc
	done   chan int
	port   string
}

var listeningRe = regexp.MustCompile(`listening on port (\d+)`)

func startShoal(t *testing.T, args ...string) *background {
	t.Helper()
	b := startShoalUntil(t, listeningRe, args...)
	return b
}

// startShoalUntil runs a shoal command until the test ends and waits for
// a line of its output to match re; port holds the first submatch.
func startShoalUntil(t *testing.T, re *regexp.Regexp, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	b := &background{cancel: cancel, done: make(chan int, 1)}
	go func() {
		b.done <- run(ctx, hermetic(args), env{stdout: pw, stderr: io.Discard})
		pw.Close()
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		close(found)
		io.Copy(io.Discard, pr)
	}()
	select {
	case b.port = <-found:
	case <-time.After(60 * time.Second):
		// Without a deadline a line that never comes hangs the whole
		// package until go test's timeout names no cause.
	}
	if b.port == "" {
		cancel()
		t.Fatalf("%v never printed a line matching %q", args, re)
	}
	t.Cleanup(func() { b.stop() })
	return b
}

func (b *background) stop() int {
	b.cancel()
	select {
	case code := <-b.done:
		b.done <- code
		return code
	case <-time.After(30 * time.Second):
		panic("shoal did not stop within 30 s of Ctrl-C")
	}
}

func seedFixture(t *testing.T, size int64, pieceSize string, createArgs ...string) (src, torrent string) {
	src = t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: size}, {Path: "pack/b.bin", Size: size / 3}})
	torrent = filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, append([]string{"create", filepath.Join(src, "pack"), "-o", torrent, "--piece-size", pieceSize}, createArgs...)...); code != 0 {
		t.Fatal(stderr)
	}
	return src, torrent
}

func TestGetFromSeed(t *testing.T) {
	src, tor := seedFixture(t, 3<<20, "64KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	dl := t.TempDir()
	code, stdout, stderr := shoal(t, "get", tor, "--dir", dl, "--peer", "127.0.0.1:"+seeder.port, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get: %d\n%s\n%s", code, stdout, stderr)
	}
	// Like aria2's "Download Results": name, size, time, rate, where.
	if !strings.Contains(stdout, "Download results:\n  pack: 4.0 MiB in ") || !strings.Contains(stdout, "/s on average\n  saved in "+filepath.Join(dl, "pack")) {
		t.Fatalf("no summary at completion:\n%s", stdout)
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("downloaded data does not verify:\n%s", out)
	}
	if code := seeder.stop(); code != 0 {
		t.Fatalf("seed exited %d on Ctrl-C", code)
	}
}

// --bind listens on one address only: the seeder bound to 127.0.0.1 is
// not reached through 127.0.0.2 (loopback too), and a get bound there
// downloads from it.
func TestBindListensOnOneAddress(t *testing.T) {
	src, tor := seedFixture(t, 200<<10, "16KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--bind", "127.0.0.1", "--state-dir", t.TempDir(), "--no-dht")
	if c, err := net.DialTimeout("tcp", "127.0.0.2:"+seeder.port, 5*time.Second); err == nil {
		c.Close()
		t.Fatal("a seeder bound to 127.0.0.1 accepted a connection on 127.0.0.2")
	}
	code, stdout, stderr := shoal(t, "get", tor, "--dir", t.TempDir(), "--peer", "127.0.0.1:"+seeder.port, "--bind", "127.0.0.1",
		"--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--no-dht")
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get: %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = shoal(t, "get", tor, "--bind", "my-laptop", "--dir", t.TempDir())
	oneLineError(t, code, exitUsage, stderr)
}

// TestGetSummaryCountsAFastDownload: a download over in a few
// milliseconds is counted as downloaded in the summary, not as "already
// on disk" (the summary polled for the end of the check every 50 ms and
// read 0 when the download had finished first).
func TestGetSummaryCountsAFastDownload(t *testing.T) {
	src, tor := seedFixture(t, 48<<10, "16KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	for range 3 {
		code, stdout, stderr := shoal(t, "get", tor, "--dir", t.TempDir(), "--peer", "127.0.0.1:"+seeder.port, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--json")
		if code != 0 {
			t.Fatalf("get: %d %s", code, stderr)
		}
		var complete struct {
			Size, Downloaded int64
		}
		for _, l := range strings.Split(stdout, "\n") {
			if strings.Contains(l, `"event":"complete"`) {
				json.Unmarshal([]byte(l), &complete)
			}
		}
		if complete.Size != 64<<10 || complete.Downloaded != complete.Size {
			t.Fatalf("complete event %+v, want all 64 KiB downloaded:\n%s", complete, stdout)
		}
	}
}

func TestGetInterruptedResumes(t *testing.T) {
	src, tor := seedFixture(t, 6<<20, "64KiB")
	// A slow seeder, so Ctrl-C lands mid-download.
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--up-limit", "2MiB", "--state-dir", t.TempDir())
	dl, state := t.TempDir(), t.TempDir()
	args := []string{"get", tor, "--dir", dl, "--peer", "127.0.0.1:" + seeder.port, "--no-seed", "--port", "0", "--state-dir", state, "--json"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- run(ctx, hermetic(args), env{stdout: pw, stderr: io.Discard}); pw.Close() }()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("--json printed a non-JSON line: %q", sc.Text())
		}
		if ev["event"] == "progress" && ev["have"].(float64) > 10 {
			cancel() // Ctrl-C
			break
		}
		if ev["event"] == "complete" {
			t.Fatal("completed before it could be interrupted")
		}
	}
	go io.Copy(io.Discard, pr)
	if code := <-done; code != 130 {
		t.Fatalf("interrupted get exited %d, want 130", code)
	}
	m, _ := meta.Load(tor)
	entries, _ := os.ReadDir(state)
	if len(entries) != 1 || entries[0].Name() != m.InfoHash.HexString()+".resume" {
		t.Fatalf("state directory after Ctrl-C: %v", entries)
	}
	// Running the same command again finishes the job.
	code, stdout, stderr := shoal(t, args...)
	if code != 0 || !strings.Contains(stdout, `"event":"complete"`) {
		t.Fatalf("resumed get: %d\n%s\n%s", code, stdout, stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev["info_hash"] != m.InfoHash.HexString() {
			t.Fatalf("event without the torrent's info_hash: %s", l)
		}
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("resumed data does not verify:\n%s", out)
	}
}

func TestSeedDirectoryOfTorrents(t *testing.T) {
	src, tor := seedFixture(t, 1<<20, "32KiB")
	dir := filepath.Dir(tor)
	seeder := startShoal(t, "seed", dir, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	dl := t.TempDir()
	if code, _, stderr := shoal(t, "get", tor, "--dir", dl, "--peer", "127.0.0.1:"+seeder.port, "--no-seed", "--port", "0", "--state-dir", t.TempDir()); code != 0 {
		t.Fatal(stderr)
	}
}

func TestGetBadInput(t *testing.T) {
	_, tor := seedFixture(t, 100_000, "16KiB")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get", "magnet:?xt=urn:btih:zz"}, exitError, "magnet"},
		{[]string{"seed", "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a", "--port", "0"}, exitError, "magnet"},
		{[]string{"get", filepath.Join(t.TempDir(), "none.torrent")}, exitError, "no such file"},
		{[]string{"get", tor, "--peer", "nonsense", "--port", "0"}, exitUsage, "HOST:PORT"},
		{[]string{"get", tor, "--no-seed", "--seed-ratio", "2"}, exitUsage, "contradict"},
		{[]string{"get", tor, "--port", "70000"}, exitUsage, "port"},
		{[]string{"seed"}, exitUsage, "at least one"},
		{[]string{"seed", t.TempDir()}, exitError, "no .torrent files"},
	}
	for _, c := range cases {
		code, _, stderr := shoal(t, c.args...)
		oneLineError(t, code, c.code, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %q lacks %q", c.args, stderr, c.want)
		}
	}
}

func TestGetMagnet(t *testing.T) {
	src, tor := seedFixture(t, 2<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	m, err := meta.Load(tor)
	if err != nil {
		t.Fatal(err)
	}
	// A web seed that is not http(s) is skipped with a warning, on
	// stderr with the other warnings.
	link := m.Magnet() + "&x.pe=127.0.0.1:" + seeder.port + "&ws=ftp%3A%2F%2F127.0.0.1%2Fx"
	dl, state := t.TempDir(), t.TempDir()
	code, stdout, stderr := shoal(t, "get", link, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", state)
	if code != 0 || !strings.Contains(stdout, "metadata saved") || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get magnet: %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "magnet link: skipped web seed") || strings.Contains(stdout, "skipped web seed") {
		t.Fatalf("magnet warning not on stderr alone:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("data does not verify:\n%s", out)
	}
	saved := filepath.Join(state, m.InfoHash.HexString()+".torrent")
	if again, err := meta.Load(saved); err != nil || again.InfoHash != m.InfoHash {
		t.Fatalf("saved torrent: %v", err)
	}
}

// TestGetMagnetPeerByHostName: an x.pe peer given as a host name is
// looked up as --peer's are (localhost is 127.0.0.1), not dropped, and
// it is the magnet's only source, so no "no peer can be found" warning.
func TestGetMagnetPeerByHostName(t *testing.T) {
	src, tor := seedFixture(t, 1<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	m, err := meta.Load(tor)
	if err != nil {
		t.Fatal(err)
	}
	link := m.Magnet() + "&x.pe=localhost:" + seeder.port
	dl := t.TempDir()
	code, stdout, stderr := shoal(t, "get", link, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
	if code != 0 || !strings.Contains(stdout, "download complete") || strings.Contains(stderr, "no peer can be found") {
		t.Fatalf("get magnet with x.pe=localhost: %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestGetOverUTPAndWithout: seed and get hold the UDP side of their port
// for uTP unless told --no-utp, and a download works whichever side has
// it off (the getter's uTP dial falls back to TCP).
func TestGetOverUTPAndWithout(t *testing.T) {
	src, tor := seedFixture(t, 1<<20, "64KiB")
	for _, tc := range []struct {
		name              string
		seedArgs, getArgs []string
	}{
		{"seeder without uTP", []string{"--no-utp"}, nil},
		{"getter without uTP", nil, []string{"--no-utp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seeder := startShoal(t, append([]string{"seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir()}, tc.seedArgs...)...)
			udp, err := net.ListenPacket("udp", "127.0.0.1:"+seeder.port)
			if tc.seedArgs == nil && err == nil {
				t.Fatal("the seeder's UDP port is free: it has no uTP socket")
			}
			if tc.seedArgs != nil {
				if err != nil {
					t.Fatalf("--no-utp still holds the UDP port: %v", err)
				}
				udp.Close()
			}
			dl := t.TempDir()
			args := append([]string{"get", tor, "--dir", dl, "--peer", "127.0.0.1:" + seeder.port, "--no-seed", "--port", "0", "--state-dir", t.TempDir()}, tc.getArgs...)
			if code, stdout, stderr := shoal(t, args...); code != 0 || !strings.Contains(stdout, "download complete") {
				t.Fatalf("get: %d\n%s\n%s", code, stdout, stderr)
			}
			if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
				t.Fatalf("downloaded data does not verify:\n%s", out)
			}
		})
	}
}
