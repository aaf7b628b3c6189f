package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Each mistake a person makes at the command line gets one line that says
// what was wrong with which input, in words, and how to do it right: never
// the Go parser or call chain that noticed it.
func TestUsageErrorsInWords(t *testing.T) {
	dir, album := content(t)
	torrent := filepath.Join(dir, "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "-o", torrent); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"get", torrent, "--max-peers", "abc"}, exitUsage, []string{`--max-peers "abc": want a whole number`, "(see 'shoal get --help')"}},
		{[]string{"get", torrent, "--seed-ratio", "lots"}, exitUsage, []string{`--seed-ratio "lots": want a number`}},
		{[]string{"get", torrent, "--down-limit", "fast"}, exitUsage, []string{`--down-limit "fast": want a size, e.g. 262144, 256KiB or 1MiB, or unlimited`}},
		{[]string{"get", torrent, "--dht-port", "70000"}, exitUsage, []string{`--dht-port "70000": want a port number from 0 to 65535`}},
		{[]string{"get", torrent, "--port", "99999"}, exitUsage, []string{`--port 99999: want a port number from 0 to 65535`}},
		{[]string{"tracker", "--interval", "5"}, exitUsage, []string{`--interval "5": want a duration with its unit, e.g. 30s`}},
		{[]string{"dht", "--report", "0s"}, exitUsage, []string{`--report 0s: want at least 1s`}},
		{[]string{"verify", torrent, "--workers", "-3"}, exitUsage, []string{`--workers -3: want a positive number`}},
		{[]string{"create", "a", "b"}, exitUsage, []string{`create takes one file or directory to share, but was given 2: "a" "b"`}},
		{[]string{"create"}, exitUsage, []string{`create needs one file or directory to share (see 'shoal create --help')`}},
		{[]string{"watch", "extra"}, exitUsage, []string{`watch takes no arguments, but was given "extra"`}},
		{[]string{"gte"}, exitUsage, []string{`unknown command "gte" for "shoal"; did you mean get? (see 'shoal help')`}},
		{[]string{"create", album, "--piece-size", "3072"}, exitUsage, []string{"--piece-size 3.0 KiB (3,072 bytes): want a power of two from 16 KiB to 16 MiB"}},
		{[]string{"create", album, "--piece-size", "1000000"}, exitUsage, []string{"977 KiB (1,000,000 bytes)", "the nearest are 512KiB and 1MiB"}},
		{[]string{"get", torrent, "--peer", "localhost"}, exitUsage, []string{`--peer "localhost": want HOST:PORT`}},
	} {
		code, _, stderr := shoal(t, tc.args...)
		oneLineError(t, code, tc.code, stderr)
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%q: said %q, want %q in it", tc.args, stderr, w)
			}
		}
		for _, leak := range []string{"strconv.", "time: ", "invalid syntax", "Run 'shoal help'"} {
			if strings.Contains(stderr, leak) {
				t.Errorf("%q: %q leaks %q", tc.args, stderr, leak)
			}
		}
	}
}

// Files that are not what a command wants are named once, with what they
// are: no "read album: read album:", no parser offsets, no characters
// made up from binary bytes, no temporary file names.
func TestFileErrorsInWords(t *testing.T) {
	dir, album := content(t)
	junk := filepath.Join(dir, "junk.torrent")
	os.WriteFile(junk, []byte("\xe3\x81\x82\x1f\x8b binary"), 0o644)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"info", album}, album + " is a directory, not a .torrent file (to make a torrent of it: shoal create " + album + ")"},
		{[]string{"verify", album}, album + " is a directory, not a .torrent file"},
		{[]string{"info", filepath.Join(dir, "nope.torrent")}, filepath.Join(dir, "nope.torrent") + ": no such file"},
		{[]string{"seed", filepath.Join(dir, "nope.torrent")}, filepath.Join(dir, "nope.torrent") + ": no such file or directory"},
		{[]string{"info", junk}, junk + " is not a .torrent file: it does not hold bencoded data"},
		{[]string{"create", album, "-o", filepath.Join(dir, "missing", "x.torrent")}, "cannot write " + filepath.Join(dir, "missing", "x.torrent") + ": the directory " + filepath.Join(dir, "missing") + " does not exist"},
		{[]string{"create", album, "-o", filepath.Join(notDir, "x.torrent")}, "cannot write " + filepath.Join(notDir, "x.torrent") + ": a part of the path is not a directory"},
		{[]string{"create", filepath.Join(dir, "nothing")}, filepath.Join(dir, "nothing") + ": no such file or directory"},
	} {
		code, _, stderr := shoal(t, tc.args...)
		oneLineError(t, code, exitError, stderr)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: said %q, want %q", tc.args, stderr, tc.want)
		}
		for _, leak := range []string{"read " + album, "stat ", "open ", "ã", "at 0", ".x.torrent."} {
			if strings.Contains(stderr, leak) {
				t.Errorf("%q: %q leaks %q", tc.args, stderr, leak)
			}
		}
	}
}

// shoal watch says in words why it cannot reach what it was pointed at.
func TestWatchErrorsInWords(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	code, _, stderr := shoal(t, "watch", "--tracker", "http://"+closed)
	oneLineError(t, code, exitError, stderr)
	if !strings.Contains(stderr, "tracker at http://"+closed+"/stats: connection refused: nothing is listening there") || strings.Contains(stderr, "dial tcp") {
		t.Errorf("refused: %q", stderr)
	}

	// A tracker that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, err = fetchTrackerStats(&http.Client{Timeout: 100 * time.Millisecond}, "http://"+silent.Addr().String()+"/stats")
	if err == nil || !strings.Contains(err.Error(), "no answer in time") || strings.Contains(err.Error(), "deadline") || strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("silent: %v", err)
	}

	sock := filepath.Join(t.TempDir(), "none.sock")
	code, _, stderr = shoal(t, "watch", "--socket", sock)
	oneLineError(t, code, exitError, stderr)
	if !strings.Contains(stderr, "cannot attach to "+sock+": no such socket") || strings.Contains(stderr, "dial unix") {
		t.Errorf("no socket: %q", stderr)
	}
}

// Two processes on one state directory: the choice is listed in words,
// not as a Go slice.
func TestWatchListsSeveralProcesses(t *testing.T) {
	stateDir := t.TempDir()
	for _, port := range []uint16{1, 2} {
		stop, err := serveControl(controlPath(stateDir, port), &liveEngine{})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	_, err := findControl(stateDir)
	a, b := controlPath(stateDir, 1), controlPath(stateDir, 2)
	if err == nil || !strings.Contains(err.Error(), "2 shoal processes are running on "+stateDir+"; choose one with --socket "+a+" and "+b) || strings.Contains(err.Error(), "[") {
		t.Errorf("%v", err)
	}
}

// The help shows each flag's default once.
func TestHelpShowsDefaultsOnce(t *testing.T) {
	for _, c := range []string{"get", "seed", "create", "verify", "tracker", "dht", "watch", "demo"} {
		_, stdout, _ := shoal(t, c, "--help")
		for _, line := range strings.Split(stdout, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%s --help: %q", c, line)
			}
		}
	}
	_, stdout, _ := shoal(t, "get", "--help")
	for _, want := range []string{"download rate limit per second, e.g. 2MiB (default unlimited)\n", "UDP port of the DHT node (default: the listen port, on uTP's socket)\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("get --help lacks %q", want)
		}
	}
}

// Counts read as English: "1 file", "1 piece".
func TestPlurals(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.bin")
	os.WriteFile(one, []byte("tiny"), 0o644)
	code, stdout, stderr := shoal(t, "create", one, "-o", filepath.Join(dir, "one.torrent"))
	if code != 0 || !strings.Contains(stdout, "in 1 file, 1 piece of 16 KiB") {
		t.Fatalf("%d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = shoal(t, "verify", filepath.Join(dir, "one.torrent"), "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "1 of 1 piece good") {
		t.Fatalf("%d %q", code, stdout)
	}
}

// info shows when the torrent was made, in words and in JSON.
func TestInfoShowsCreationDate(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.bin")
	os.WriteFile(one, []byte("tiny"), 0o644)
	torrent := filepath.Join(dir, "one.torrent")
	before := time.Now().Add(-time.Second)
	if code, _, stderr := shoal(t, "create", one, "-o", torrent); code != 0 {
		t.Fatal(stderr)
	}
	_, stdout, _ := shoal(t, "info", torrent)
	if !strings.Contains(stdout, "Created:     "+before.Local().Format("2006-01-02")) {
		t.Errorf("info: %s", stdout)
	}
	_, stdout, _ = shoal(t, "info", torrent, "--json")
	if !strings.Contains(stdout, `"creation_date": "`+before.UTC().Format("2006-01-02")) {
		t.Errorf("info --json: %s", stdout)
	}
}

// --peer takes host names, as its help says: localhost (from /etc/hosts,
// so no network is asked) is each of its addresses.
func TestPeerHostNames(t *testing.T) {
	f := swarmFlags{peers: []string{"localhost:6881", "127.0.0.2:7000", "[::1]:7001"}}
	got, err := f.peerAddrs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"127.0.0.1:6881": false, "127.0.0.2:7000": false, "[::1]:7001": false}
	for _, ap := range got {
		if _, ok := want[ap.String()]; ok {
			want[ap.String()] = true
		} else if ap.Port() != 6881 || !ap.Addr().IsLoopback() {
			t.Errorf("unexpected %v", ap)
		}
	}
	for a, seen := range want {
		if !seen {
			t.Errorf("%s missing from %v", a, got)
		}
	}
}

// Network failures are said in words.
func TestNetWords(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "peer.example", IsNotFound: true}, "host name peer.example not found"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused: nothing is listening there"},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), "no answer in time"},
	} {
		if got := netWords(tc.err); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}
