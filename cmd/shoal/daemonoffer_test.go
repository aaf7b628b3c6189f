package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestGetAndSeedOfferDaemon: with a daemon running, get and seed say so
// and give the shoal add line, then still do their job standalone.
func TestGetAndSeedOfferDaemon(t *testing.T) {
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	t.Setenv("SHOAL_RPC", "127.0.0.1:1") // nothing there
	code, _, stderr := shoal(t, "get", torrent, "--dir", src, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
	if code != 0 || strings.Contains(stderr, "daemon") {
		t.Fatalf("without a daemon: %d %q", code, stderr)
	}

	addr := startDaemon(t, t.TempDir(), t.TempDir())
	t.Setenv("SHOAL_RPC", addr)
	code, stdout, stderr := shoal(t, "get", torrent, "--dir", src, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
	want := "a shoal daemon is running at " + addr + ": 'shoal add " + torrent + " --dir " + src + " --rpc " + addr + "'"
	if code != 0 || !strings.Contains(stderr, want) || !strings.Contains(stdout, "download complete") {
		t.Fatalf("get beside a daemon: %d\nstdout %q\nstderr %q\nwant %q", code, stdout, stderr, want)
	}
	if l := ls(t, addr); len(l) != 0 {
		t.Fatalf("get added to the daemon by itself: %+v", l)
	}

	// seed of a folder of torrents: the line globs it.
	folder := filepath.Dir(torrent)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, hermetic([]string{"seed", folder, "--dir", src, "--port", "0", "--state-dir", t.TempDir()}), env{stdout: pw, stderr: &errb})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening on port") {
	}
	go io.Copy(io.Discard, pr)
	cancel()
	<-done
	if want := "'shoal add " + folder + "/*.torrent --dir " + src; !strings.Contains(errb.String(), want) {
		t.Fatalf("seed beside a daemon: %q, want %q", errb.String(), want)
	}
}
