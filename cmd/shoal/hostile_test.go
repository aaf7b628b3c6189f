package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// shoalWithin is shoal with a deadline, for inputs that used to hang a
// command. On a hang it calls unstick (which should release whatever the
// command waits on) before failing, so the test binary can still end.
func shoalWithin(t *testing.T, unstick func(), args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := shoal(t, args...)
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(20 * time.Second):
		unstick()
		t.Fatalf("shoal %v hangs", args)
		return 0, "", ""
	}
}

func TestVerifyRefusesFIFO(t *testing.T) {
	dir, album := content(t)
	tor := filepath.Join(t.TempDir(), "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "-o", tor, "--piece-size", "16KiB"); code != 0 {
		t.Fatal(stderr)
	}
	// Someone replaced a data file with a named pipe.
	pipe := filepath.Join(album, "b", "c.txt")
	if err := os.Remove(pipe); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	unstick := func() {
		// A writer that opens and closes lets a blocked open return.
		if f, err := os.OpenFile(pipe, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	}
	code, _, stderr := shoalWithin(t, unstick, "verify", tor, "--dir", dir)
	oneLineError(t, code, exitError, stderr)
	if !strings.Contains(stderr, "c.txt is a named pipe") {
		t.Fatalf("stderr %q does not name the pipe", stderr)
	}
}

// A small .torrent declaring millions of pieces is refused with one line
// before anything allocates per-piece state.
func TestTooManyPiecesRefused(t *testing.T) {
	tor := filepath.Join(t.TempDir(), "huge.torrent")
	if err := os.WriteFile(tor, piecetest.ManyPiecesTorrent(meta.MaxPieces+1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"info", tor},
		{"get", tor, "--dir", t.TempDir(), "--port", "0", "--state-dir", t.TempDir()},
	} {
		code, _, stderr := shoal(t, args...)
		oneLineError(t, code, exitError, stderr)
		if !strings.Contains(stderr, "2,097,153 pieces, more than the 2,097,152 shoal accepts") {
			t.Errorf("%s: %q", args[0], stderr)
		}
	}
}

// syncBuffer collects a background command's stderr for the test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// One bad .torrent in a directory, or two with the same infohash, must not
// stop the others from being seeded: each is skipped with one warning.
func TestSeedDirectorySkipsBadTorrents(t *testing.T) {
	src, first := seedFixture(t, 300_000, "32KiB")
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "other/x.bin", Size: 200_000}})
	dir := t.TempDir()
	second := filepath.Join(dir, "c-other.torrent")
	if code, _, stderr := shoal(t, "create", filepath.Join(src, "other"), "-o", second, "--piece-size", "32KiB"); code != 0 {
		t.Fatal(stderr)
	}
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"0-garbage.torrent": []byte("d4:infoi3ee"), "a-pack.torrent": data, "b-same-as-a.torrent": data,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, hermetic([]string{"seed", dir, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--no-tui"}),
			env{stdout: pw, stderr: stderr})
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	port := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
			port = m[1]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if port == "" {
		t.Fatalf("seed never listened; stderr:\n%s", stderr)
	}
	for _, tor := range []string{first, second} {
		if code, _, errOut := shoal(t, "get", tor, "--dir", t.TempDir(), "--peer", "127.0.0.1:"+port, "--no-seed", "--port", "0", "--state-dir", t.TempDir()); code != 0 {
			t.Fatalf("get %s from the seeder: %s", filepath.Base(tor), errOut)
		}
	}
	var warnings []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "skipping") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "0-garbage.torrent") ||
		!strings.Contains(warnings[1], "b-same-as-a.torrent") || !strings.Contains(warnings[1], "a-pack.torrent") {
		t.Fatalf("want one warning for the garbage and one for the duplicate, got:\n%s", stderr)
	}
}

func TestSeedDirectoryOfOnlyBadTorrents(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.torrent"), []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := shoal(t, "seed", dir, "--dir", t.TempDir(), "--port", "0", "--state-dir", t.TempDir())
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitError || len(lines) != 2 || !strings.HasSuffix(lines[0], "; skipping it") ||
		!strings.Contains(lines[0], "bad.torrent") || lines[1] != "shoal: no torrent left to seed" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
