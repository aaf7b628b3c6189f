package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
