package main

import (
	"os"
	"path/filepath"
	"strings"
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
