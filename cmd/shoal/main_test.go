package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// shoal runs one command line in-process and returns its exit status and
// output, as a person at a terminal would see them.
func shoal(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), hermetic(args), env{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// oneLineError checks the contract for bad input: a non-zero status and a
// single short line on stderr, never a stack trace.
func oneLineError(t *testing.T, code, want int, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit %d, want %d; stderr %q", code, want, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "shoal: ") || strings.Contains(stderr, "goroutine") {
		t.Fatalf("not a one-line error: %q", stderr)
	}
}

func content(t *testing.T) (dir, album string) {
	dir = t.TempDir()
	piecetest.WriteFiles(t, dir, []piecetest.FileSpec{
		{Path: "album/a.flac", Size: 300_000}, {Path: "album/b/c.txt", Size: 1234}, {Path: "album/empty", Size: 0},
	})
	return dir, filepath.Join(dir, "album")
}

func TestCreateInfoVerifyRoundTrip(t *testing.T) {
	dir, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	// Flags after the positional argument, sizes with units, repeated
	// trackers.
	code, stdout, stderr := shoal(t, "create", album, "-o", out, "--piece-size", "32KiB",
		"--tracker", "http://127.0.0.1:6969/announce", "--tracker", "udp://127.0.0.1:6969", "--comment", "hello")
	if code != 0 {
		t.Fatalf("create: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "created "+out) || !strings.Contains(stdout, "10 pieces of 32 KiB") {
		t.Fatalf("create said %q", stdout)
	}
	tor, err := meta.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(tor.Trackers) != 2 || tor.Comment != "hello" || tor.Layout.PieceLength != 32<<10 {
		t.Fatalf("torrent %+v", tor.Trackers)
	}

	code, stdout, _ = shoal(t, "info", out)
	for _, want := range []string{"Name:        album", tor.InfoHash.HexString(), "tier 2: udp://127.0.0.1:6969", "album/b/c.txt", "magnet:?xt=urn:btih:"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("info lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = shoal(t, "info", "--json", out)
	var js infoJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &js) != nil || js.Pieces != 10 || len(js.Files) != 3 {
		t.Fatalf("info --json: %d %s", code, stdout)
	}

	code, stdout, stderr = shoal(t, "verify", out, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "10 of 10 pieces good") || !strings.Contains(stdout, "complete") {
		t.Fatalf("verify: %d %s %s", code, stdout, stderr)
	}
}

func TestVerifyReportsMissingAndCorrupt(t *testing.T) {
	dir, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "-o", out, "--piece-size", "16384"); code != 0 {
		t.Fatal(stderr)
	}
	// 19 pieces of 16 KiB: cutting a.flac at 100,000 loses pieces 6-18
	// (the last also holds c.txt); one flipped byte spoils piece 3.
	a := filepath.Join(album, "a.flac")
	os.Truncate(a, 100_000)
	data, _ := os.ReadFile(a)
	data[50_000] ^= 1
	os.WriteFile(a, data, 0o644)

	code, stdout, stderr := shoal(t, "verify", "--dir", dir, out)
	oneLineError(t, code, exitIncomplete, stderr)
	if !strings.Contains(stdout, "5 of 19 pieces good") || !strings.Contains(stdout, "13 missing, 1 corrupt") ||
		!strings.Contains(stdout, "corrupt pieces: 3\n") || !strings.Contains(stdout, "  27.3%") {
		t.Fatalf("verify said:\n%s", stdout)
	}
	// A wrong --dir gets a hint, not just "incomplete".
	code, _, stderr = shoal(t, "verify", out, "--dir", t.TempDir())
	oneLineError(t, code, exitIncomplete, stderr)
	if !strings.Contains(stderr, "nothing of it found") {
		t.Fatalf("no hint: %s", stderr)
	}
}

func TestBadInputGetsOneLineErrors(t *testing.T) {
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.torrent")
	os.WriteFile(garbage, []byte("\x00\x01 definitely not bencode"), 0o644)
	truncated := filepath.Join(tmp, "truncated.torrent")
	valid, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "mktorrent-multi.torrent"))
	os.WriteFile(truncated, valid[:len(valid)/2], 0o644)
	evil := filepath.Join(tmp, "evil.torrent")
	info, _ := bencode.Marshal(map[string]any{"name": "x", "piece length": 16384, "pieces": strings.Repeat("a", 20),
		"files": []any{map[string]any{"length": 10, "path": []string{"..", "..", "etc", "cron.d", "evil"}}}})
	evilData, _ := bencode.Marshal(map[string]any{"info": bencode.Bytes(info)})
	os.WriteFile(evil, evilData, 0o644)
	emptyDir := t.TempDir()

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"info garbage", []string{"info", garbage}, exitError},
		{"info truncated", []string{"info", truncated}, exitError},
		{"info hostile path", []string{"info", evil}, exitError},
		{"info missing", []string{"info", filepath.Join(tmp, "nope.torrent")}, exitError},
		{"info a directory", []string{"info", tmp}, exitError},
		{"info bad magnet", []string{"info", "magnet:?xt=urn:btih:123"}, exitError},
		{"verify hostile", []string{"verify", evil, "--dir", tmp}, exitError},
		{"verify missing dir", []string{"verify", filepath.Join("..", "..", "testdata", "mktorrent-multi.torrent"), "--dir", filepath.Join(tmp, "nope")}, exitError},
		{"create missing path", []string{"create", filepath.Join(tmp, "nope")}, exitError},
		{"create empty dir", []string{"create", emptyDir, "-o", filepath.Join(tmp, "x.torrent")}, exitError},
		{"create bad piece size", []string{"create", tmp, "--piece-size", "3MiB"}, exitUsage},
		{"create unit garbage", []string{"create", tmp, "--piece-size", "lots"}, exitUsage},
		{"create bad tracker", []string{"create", tmp, "--tracker", "nope"}, exitUsage},
		{"get bad encryption", []string{"get", filepath.Join("..", "..", "testdata", "mktorrent-multi.torrent"), "--dir", tmp, "--encryption", "always"}, exitUsage},
		{"seed bad encryption", []string{"seed", filepath.Join("..", "..", "testdata", "mktorrent-multi.torrent"), "--dir", tmp, "--encryption", ""}, exitUsage},
		{"unknown flag", []string{"info", "--frobnicate", garbage}, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"missing argument", []string{"verify"}, exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := shoal(t, c.args...)
			oneLineError(t, code, c.code, stderr)
		})
	}
	if _, err := os.Stat("/etc/cron.d/evil"); err == nil {
		t.Fatal("hostile torrent wrote outside its directory")
	}
}

func TestCreateKeepsExistingOutput(t *testing.T) {
	_, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	os.WriteFile(out, []byte("precious"), 0o644)
	code, _, stderr := shoal(t, "create", album, "-o", out)
	oneLineError(t, code, exitError, stderr)
	if data, _ := os.ReadFile(out); string(data) != "precious" {
		t.Fatal("existing file overwritten")
	}
	if code, _, stderr := shoal(t, "create", album, "-o", out, "--force"); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := meta.Load(out); err != nil {
		t.Fatal(err)
	}
}

func TestInfoMagnet(t *testing.T) {
	code, stdout, _ := shoal(t, "info", "magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&dn=album&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&x.pe=127.0.0.1:6881")
	for _, want := range []string{"album", "c12fe1c06bba254a9dc9f519b335aa7c1367a88a", "http://127.0.0.1:6969/announce", "127.0.0.1:6881"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("lacks %q:\n%s", want, stdout)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"create", "info", "verify", "demo"} {
		code, stdout, _ := shoal(t, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "shoal "+cmd) {
			t.Errorf("%s --help:\n%s", cmd, stdout)
		}
	}
	code, stdout, _ := shoal(t, "help")
	if code != 0 || !strings.Contains(stdout, "Exit status") {
		t.Errorf("help:\n%s", stdout)
	}
}

func TestDemoWithoutTerminal(t *testing.T) {
	code, stdout, stderr := shoal(t, "demo", "--size", "4MiB", "--rate", "4MiB", "--leechers", "3")
	for _, want := range []string{"every leecher completed", "all 3 leechers hold byte-identical copies", "traded the rest"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("demo lacks %q: %d\n%s\n%s", want, code, stdout, stderr)
		}
	}
}

// hermetic keeps tests off the public DHT and the real router: get and
// seed run without the DHT unless a test names its own bootstrap nodes
// (the default routers would mean DNS lookups and traffic off this
// machine), and never forward ports (SSDP multicast and NAT-PMP to the
// default gateway) unless a test points both methods at its own fakes.
func hermetic(args []string) []string {
	if len(args) == 0 || args[0] != "get" && args[0] != "seed" {
		return args
	}
	out := append([]string(nil), args...)
	if !slices.Contains(args, "--dht-bootstrap") && !slices.Contains(args, "--no-dht") {
		out = append(out, "--no-dht")
	}
	faked := slices.Contains(args, "--upnp-url") && slices.Contains(args, "--natpmp-gateway")
	if !faked && !slices.Contains(args, "--no-port-forwarding") {
		out = append(out, "--no-port-forwarding")
	}
	return out
}

// A file longer on disk than the torrent says verifies (its hashes are
// right) but is pointed out: the extra bytes are none of the torrent's.
func TestVerifyNotesALongerFile(t *testing.T) {
	dir, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "-o", out); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, _ := shoal(t, "verify", out, "--dir", dir)
	if code != 0 || strings.Contains(stdout, "longer on disk") {
		t.Fatalf("intact data: %d\n%s", code, stdout)
	}
	f, _ := os.OpenFile(filepath.Join(album, "b", "c.txt"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("0123456789"))
	f.Close()
	code, stdout, _ = shoal(t, "verify", out, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "b/c.txt  (10 B longer on disk than in the torrent)") {
		t.Fatalf("a longer file: %d\n%s", code, stdout)
	}
}

// Empty and cut-short files are said in words, not as a bencode
// decoder's position; so is an empty file given to create.
func TestEmptyAndTruncatedFilesInWords(t *testing.T) {
	tmp := t.TempDir()
	empty, cut, zero := filepath.Join(tmp, "empty.torrent"), filepath.Join(tmp, "cut.torrent"), filepath.Join(tmp, "zero.bin")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(cut, []byte("d4:info"), 0o644)
	long := filepath.Join(tmp, "long.torrent")
	os.WriteFile(long, []byte("d4:infod4:name300:abc"), 0o644) // a string running past the end
	ended := filepath.Join(tmp, "ended.torrent")
	os.WriteFile(ended, []byte("d4:infoi12"), 0o644) // an integer without its end
	os.WriteFile(zero, nil, 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"info", empty}, "shoal: " + empty + " is empty, not a .torrent file (a download that failed?)"},
		{[]string{"info", cut}, "shoal: " + cut + " is cut short: its data ends in the middle (a download that did not finish?)"},
		{[]string{"info", long}, "shoal: " + long + " is cut short: its data ends in the middle (a download that did not finish?)"},
		{[]string{"info", ended}, "shoal: " + ended + " is cut short: its data ends in the middle (a download that did not finish?)"},
		{[]string{"create", zero, "--v2", "-o", filepath.Join(tmp, "z.torrent")}, "shoal: " + zero + " is empty: no data to share"},
	} {
		code, _, stderr := shoal(t, c.args...)
		oneLineError(t, code, exitError, stderr)
		if strings.TrimSpace(stderr) != c.want {
			t.Errorf("%v: %q, want %q", c.args, stderr, c.want)
		}
	}
}
