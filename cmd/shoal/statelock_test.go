package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateDirRefusesASecondProcess: two processes on one state directory
// would write the same resume files and routing table. The second says
// which process holds it and how to avoid it, and exits 1; the first
// keeps seeding.
func TestStateDirRefusesASecondProcess(t *testing.T) {
	src, tor := seedFixture(t, 1<<20, "32KiB")
	state := t.TempDir()
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", state)
	peer := "127.0.0.1:" + seeder.port

	code, _, stderr := shoal(t, "get", tor, "--dir", t.TempDir(), "--no-seed", "--port", "0", "--state-dir", state, "--peer", peer)
	oneLineError(t, code, exitError, stderr)
	for _, want := range []string{state, fmt.Sprintf("pid %d", os.Getpid()), "--state-dir"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("%q does not name %q", stderr, want)
		}
	}
	// The first is unharmed: it still seeds, and still holds the lock.
	dl := t.TempDir()
	if code, _, stderr := shoal(t, "get", tor, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir(), "--peer", peer); code != 0 {
		t.Fatalf("get from the first process: %d %s", code, stderr)
	}
	if code, _, stderr := shoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", state); code != exitError || !strings.Contains(stderr, "--state-dir") {
		t.Fatalf("a second seed on the same state directory: %d %s", code, stderr)
	}
	if code := seeder.stop(); code != 0 {
		t.Fatalf("first process exited %d", code)
	}
	// Once it is gone the directory is free again, and the lock leaves no
	// file behind.
	if _, err := os.Stat(filepath.Join(state, stateLockName)); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
	if code, _, stderr := shoal(t, "get", tor, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", state); code != 0 {
		t.Fatalf("get after the first process stopped: %d %s", code, stderr)
	}
}
