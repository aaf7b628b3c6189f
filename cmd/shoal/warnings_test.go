package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// lockedBuffer is a bytes.Buffer the command and the test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// untilStarted runs get or seed in-process until it says it is listening
// (or, for a magnet, fetching metadata), stops it as Ctrl-C would and
// returns what it wrote to stderr.
func untilStarted(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, hermetic(args), env{stdout: pw, stderr: &stderr})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listening on port") || strings.Contains(sc.Text(), "fetching metadata") {
			started = true
			break
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop within 30 s of Ctrl-C")
	}
	if !started {
		t.Fatalf("%v never started; stderr %q", args, stderr.String())
	}
	return stderr.String()
}

func warnings(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "shoal: warning: ") {
			out = append(out, l)
		}
	}
	return out
}

// get says once, before it sits at 0%, that no source can produce a peer.
func TestGetWarnsWhenNoPeerSource(t *testing.T) {
	dir := t.TempDir()
	_, album := content(t)
	private := filepath.Join(dir, "private.torrent")
	public := filepath.Join(dir, "public.torrent")
	tracked := filepath.Join(dir, "tracked.torrent")
	for _, c := range [][]string{{"-o", private, "--private"}, {"-o", public}, {"-o", tracked, "-t", "http://127.0.0.1:1/announce"}} {
		if code, _, stderr := shoal(t, append([]string{"create", album}, c...)...); code != 0 {
			t.Fatal(stderr)
		}
	}
	common := func(extra ...string) []string {
		return append([]string{"--no-tui", "--port", "0", "--state-dir", t.TempDir(), "--dir", t.TempDir()}, extra...)
	}
	magnet := "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=album"
	for _, tc := range []struct {
		args []string
		want string // "" for no warning
	}{
		{append([]string{"get", private}, common("--dht-bootstrap", "127.0.0.1:1")...),
			"album: no peer can be found: it is a private torrent with no trackers (private torrents use neither the DHT nor peer exchange) and no --peer is given; it gets only peers that connect to it (give one with --peer HOST:PORT)"},
		{append([]string{"get", magnet}, common("--no-dht")...), "album: no peer can be found: it has no trackers, the DHT is off (--no-dht) and no --peer is given"},
		{append([]string{"get", tracked}, common("--no-dht", "--no-trackers")...), "album: no peer can be found: --no-trackers is given, the DHT is off (--no-dht) and no --peer is given"},
		{append([]string{"get", public}, common("--no-dht")...), "album: no peer can be found: it has no trackers, the DHT is off"},
		// Some source may produce a peer: no warning.
		{append([]string{"get", private}, common("--peer", "127.0.0.1:1")...), ""},
		{append([]string{"get", tracked}, common("--no-dht")...), ""},
		{append([]string{"get", public}, common("--dht-bootstrap", "127.0.0.1:1")...), ""},
		{append([]string{"get", magnet + "&x.pe=127.0.0.1:1"}, common("--no-dht")...), ""},
	} {
		got := warnings(untilStarted(t, tc.args...))
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%q: warned %q", tc.args[1], got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%q %q: warned %q, want once %q", tc.args[1], tc.args[len(tc.args)-1], got, tc.want)
		}
	}
}

// What the parser skipped or renamed to load a torrent is said by get and
// seed as info says it: once each, one line each, on stderr. seed says
// too when --dir holds nothing of the torrent (a get starts empty).
func TestGetAndSeedPrintParserWarnings(t *testing.T) {
	files := []any{
		map[string]any{"length": int64(8), "path": []string{"bar.txt"}},
		map[string]any{"length": int64(8), "path": []string{"bar.txt"}},
	}
	p := writeTorrent(t, map[string]any{"name": "t", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "files": files},
		map[string]any{"comment": int64(3), "announce": "http://127.0.0.1:1/announce"})
	for _, cmd := range []string{"get", "seed"} {
		got := warnings(untilStarted(t, cmd, p, "--no-tui", "--port", "0", "--state-dir", t.TempDir(), "--dir", t.TempDir()))
		want := []string{"t: ignored 1 byte after the end", `t: file 1: "bar.txt" saved as "bar.1.txt"`, "t: ignored comment"}
		if cmd == "seed" { // and an empty --dir is said to hold nothing of it
			want = append(want, "t: nothing of it found in ")
		}
		if len(got) != len(want) {
			t.Errorf("%s: warned %q, want %d lines", cmd, got, len(want))
			continue
		}
		for i, w := range want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %d is %q, want %q", cmd, i, got[i], w)
			}
		}
	}
}

func TestNoPeerSourceRules(t *testing.T) {
	for _, tc := range []struct {
		p    peerSources
		none bool
	}{
		{peerSources{}, true},
		{peerSources{dht: true}, false},
		{peerSources{dht: true, private: true}, true},
		{peerSources{lsd: true, private: true}, true},
		{peerSources{lsd: true}, false},
		{peerSources{trackers: 1}, false},
		{peerSources{trackers: 1, noTrackers: true, dht: true}, false},
		{peerSources{trackers: 1, noTrackers: true, private: true, dht: true}, true},
		{peerSources{private: true, peers: 1}, false},
		{peerSources{webSeeds: 1}, false},
	} {
		if got := tc.p.noPeerSource() != ""; got != tc.none {
			t.Errorf("%+v: no source %v, want %v (%q)", tc.p, got, tc.none, tc.p.noPeerSource())
		}
	}
}

// seed --dir pointing at the torrent's own folder (a common slip) says
// so; the folder that holds it does not.
func TestSeedSaysWhenDirHoldsNothing(t *testing.T) {
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "pack/a.bin", Size: 40 << 10}})
	tor := filepath.Join(t.TempDir(), "pack.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "pack"), "-o", tor); code != 0 {
		t.Fatal(stderr)
	}
	for dir, want := range map[string]bool{src: false, filepath.Join(src, "pack"): true} {
		got := warnings(untilStarted(t, "seed", tor, "--no-tui", "--port", "0", "--state-dir", t.TempDir(), "--dir", dir))
		said := len(got) == 1 && strings.Contains(got[0], "pack: nothing of it found in "+dir+"; --dir is the folder that contains pack")
		if said != want || !want && len(got) != 0 {
			t.Errorf("--dir %s: warned %q, want the warning: %v", dir, got, want)
		}
	}
}
