package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// longStateDir is a state directory whose path alone passes the 108
// bytes a Unix socket path may have.
func longStateDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-state-directory-with-a-long-name-", 4))
	if len(dir) <= 108 {
		t.Fatalf("%d bytes is not long enough", len(dir))
	}
	return dir
}

// TestLongStateDirGetAndWatch: with a state directory too long for a
// socket path, get completes and shoal watch still finds the socket.
func TestLongStateDirGetAndWatch(t *testing.T) {
	runtime := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	src, tor := seedFixture(t, 1<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	peer := "127.0.0.1:" + seeder.port
	state, dl := longStateDir(t), t.TempDir()
	code, stdout, stderr := shoal(t, "get", tor, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", state, "--peer", peer)
	if code != 0 || !strings.Contains(stdout, "download complete") || strings.Contains(stdout, "warning") {
		t.Fatalf("get with a long state directory: %d\n%s\n%s", code, stdout, stderr)
	}
	// Seeding it from the same state directory, a watch attaches.
	startShoal(t, "get", tor, "--dir", dl, "--port", "0", "--state-dir", state, "--peer", peer)
	path, err := findControl(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(path) > maxSocketPath || !strings.HasPrefix(path, filepath.Join(runtime, "shoal")+"/") {
		t.Fatalf("socket path of %d bytes: %s", len(path), path)
	}
	eng, err := dialControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.conn.Close()
	if items := eng.Items(); len(items) != 1 || items[0].Label != "pack" {
		t.Fatalf("items over the socket: %+v", items)
	}
}

// TestControlSocketNeverStopsATransfer: when the control socket cannot
// be made, get warns and downloads all the same.
func TestControlSocketNeverStopsATransfer(t *testing.T) {
	src, tor := seedFixture(t, 1<<20, "32KiB")
	seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
	// A port known in advance, and a directory (not empty, so it stays)
	// planted where get's socket belongs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	state := t.TempDir()
	sock := controlPath(state, port)
	if err := os.MkdirAll(filepath.Join(sock, "in-the-way"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := shoal(t, "get", tor, "--dir", t.TempDir(), "--no-seed", "--port", strconv.Itoa(int(port)),
		"--state-dir", state, "--peer", "127.0.0.1:"+seeder.port)
	if code != 0 || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get without a control socket: %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "warning") || !strings.Contains(stdout, "shoal watch") {
		t.Fatalf("no warning that shoal watch cannot attach:\n%s", stdout)
	}
}

// TestControlSocketRefusesASharedRuntimeDir: a fallback directory that
// others can write to (planted in a shared /tmp, say) is not used.
func TestControlSocketRefusesASharedRuntimeDir(t *testing.T) {
	runtime := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	shared := filepath.Join(runtime, "shoal")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	path := controlPath(longStateDir(t), 6881)
	if filepath.Dir(path) != shared {
		t.Fatalf("socket at %s, not in %s", path, shared)
	}
	if stop, err := serveControl(path, &stubEngine{}); err == nil {
		stop()
		t.Fatal("served from a world-writable directory")
	}
}
