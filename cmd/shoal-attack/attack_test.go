package main

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// attackCase is one attack beside one honest transfer.
type attackCase struct {
	name string
	// victim is the process attacked: "seed" or "get".
	victim string
	// dialed: the victim (get) dials the attacker, which listens.
	dialed bool
	// attack is shoal-attack's command line; the harness adds -target
	// (or nothing, for dialed attacks) and -torrent.
	attack            []string
	seedArgs, getArgs []string
	// nofile lowers the victim's limit on open files, so that a flood
	// of hundreds shows what tens of thousands would do at the default.
	nofile uint64
}

// scale holds what differs between make test and make soak.
type scale struct {
	soak bool
	// hold is how long an attack runs before the honest transfer starts.
	hold time.Duration
	// transfer bounds the honest download.
	transfer time.Duration
}

func attackCases(s scale) []attackCase {
	squatters, maxPeers := "8", "8"
	halfOpen, nofile := "400", uint64(256)
	pexAddrs := "100000"
	if s.soak {
		squatters, maxPeers = "80", "80"
		halfOpen, nofile = "8000", 4096
		pexAddrs = "1000000"
	}
	return []attackCase{
		{name: "metadata-huge-piece/seed", victim: "seed", attack: []string{"metadata"}},
		{name: "metadata-huge-piece/get", victim: "get", attack: []string{"metadata"}},
		// The honest seeder is held to 2 MiB/s so the download lasts long
		// enough for the garbage to arrive first, as it would from a
		// nearer attacker.
		{name: "unrequested-pieces", victim: "get", dialed: true, attack: []string{"unrequested"},
			seedArgs: []string{"--up-limit", "2MiB"}},
		{name: "keepalive-squatters", victim: "seed", attack: []string{"squatters", "-conns", squatters},
			seedArgs: []string{"--max-peers", maxPeers}},
		{name: "half-open-flood", victim: "get", attack: []string{"halfopen", "-conns", halfOpen}, nofile: nofile},
		// Memory is logged, not bounded: today's shoal, keeping all
		// 100,000 addresses, peaks 82 MiB higher under -race, and one
		// that keeps 2,000 still 38 MiB higher (garbage from decoding 2,000
		// messages); without -race, 20 MiB against 7. Too close to call
		// from outside without flaking; swarm's own tests must bound it.
		{name: "pex-flood/seed", victim: "seed", attack: []string{"pex", "-addrs", pexAddrs}},
		{name: "pex-flood/get", victim: "get", attack: []string{"pex", "-addrs", pexAddrs}},
		{name: "garbage-flood", victim: "seed", attack: []string{"garbage"}},
	}
}

// TestAttacks runs each attack of issue 9 against a real shoal process
// over loopback while an honest shoal get downloads beside it: the
// download must complete byte-identical, and the attacked process must
// neither crash nor exit. SHOAL_SOAK=1 runs them at full scale, for
// longer (make soak).
func TestAttacks(t *testing.T) {
	// Alone, the download takes a second or two; today's shoal under the
	// half-open flood finishes at about 20 s, when its handshake timeout
	// frees descriptors, which is no defence.
	s := scale{transfer: 15 * time.Second}
	if os.Getenv("SHOAL_SOAK") != "" {
		s = scale{soak: true, hold: 30 * time.Second, transfer: 5 * time.Minute}
	}
	bin := buildShoal(t)
	fx := newFixture(t, bin)
	for _, c := range attackCases(s) {
		t.Run(c.name, func(t *testing.T) { fx.run(t, s, c) })
	}
}

// buildShoal builds the real shoal binary, with the race detector when
// this test has it, so a race in shoal under attack is caught too.
func buildShoal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shoal")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/shoal-torrent/shoal/cmd/shoal")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build shoal: %v\n%s", err, out)
	}
	touchSources(t)
	return bin
}

// touchSources opens every Go file of the module. go test caches a
// result by the files the test opened, not by what a child `go build`
// read: without this, a change to shoal would leave this test's old
// verdict in the cache.
func touchSources(t *testing.T) {
	t.Helper()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := os.Open(p)
		if err == nil {
			f.Close()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is the content every case transfers: random bytes in two
// files, 65 pieces of 64 KiB (not a multiple of 8, so a bitfield has
// spare bits), the last one short.
type fixture struct {
	bin, src, torrent string
	files             []string // relative to src
}

func newFixture(t *testing.T, bin string) *fixture {
	t.Helper()
	fx := &fixture{bin: bin, src: t.TempDir(), files: []string{"pack/a.bin", "pack/b.bin"}}
	seed := rand.Uint64()
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)}))
	for i, size := range []int{3<<20 + 12345, 1<<20 - 1000} {
		data := make([]byte, size)
		for k := range data {
			data[k] = byte(r.Uint32())
		}
		path := filepath.Join(fx.src, fx.files[i])
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fx.torrent = filepath.Join(t.TempDir(), "pack.torrent")
	out, err := exec.Command(bin, "create", filepath.Join(fx.src, "pack"), "-o", fx.torrent, "--piece-size", "64KiB").CombinedOutput()
	if err != nil {
		t.Fatalf("shoal create: %v\n%s", err, out)
	}
	mi, err := metainfo.LoadFromFile(fx.torrent)
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil || info.NumPieces()%8 == 0 {
		t.Fatalf("fixture torrent: %v, %d pieces", err, info.NumPieces())
	}
	t.Logf("content seed %d: %d pieces", seed, info.NumPieces())
	return fx
}

// run starts the seeder, the leecher and the attack in the order the case
// needs, then checks the download and the victim.
func (fx *fixture) run(t *testing.T, s scale, c attackCase) {
	dl := t.TempDir()
	seedArgs := append([]string{"seed", fx.torrent, "--dir", fx.src, "--no-tui", "--no-dht", "--no-port-forwarding", "--port", "0",
		"--state-dir", t.TempDir()}, c.seedArgs...)
	getArgs := append([]string{"get", fx.torrent, "--dir", dl, "--no-seed", "--no-tui", "--no-dht", "--no-port-forwarding", "--port", "0",
		"--state-dir", t.TempDir()}, c.getArgs...)
	attack := append(append([]string(nil), c.attack...), "-torrent", fx.torrent)
	var seed, get *proc
	var atk *attackRun
	switch {
	case c.dialed:
		seed = startProc(t, "seed", fx.bin, 0, seedArgs...)
		atk = startAttack(t, attack...)
		m, err := atk.out.await(attackListenRe, time.Now().Add(10*time.Second), atk.done)
		if err != nil {
			t.Fatalf("shoal-attack never listened: %v", err)
		}
		atk.awaitReady(t, seed)
		get = startProc(t, "get", fx.bin, c.nofile, append(getArgs, "--peer", seed.addr(), "--peer", m[1])...)
	case c.victim == "seed":
		seed = startProc(t, "seed", fx.bin, c.nofile, seedArgs...)
		base := seed.peakMemory()
		atk = startAttack(t, append(attack, "-target", seed.addr())...)
		atk.awaitReady(t, seed)
		hold(t, s, seed)
		logGrowth(t, seed, base)
		get = startProc(t, "get", fx.bin, 0, append(getArgs, "--peer", seed.addr())...)
	default:
		get = startProc(t, "get", fx.bin, c.nofile, getArgs...)
		base := get.peakMemory()
		atk = startAttack(t, append(attack, "-target", get.addr())...)
		atk.awaitReady(t, get)
		hold(t, s, get)
		logGrowth(t, get, base)
		// The seeder dials the leecher: the leecher takes it in among
		// the attackers.
		seed = startProc(t, "seed", fx.bin, 0, append(seedArgs, "--peer", get.addr())...)
	}
	fx.awaitDownload(t, s, get, dl, seed)
	if code := atk.stop(t); code != 0 {
		t.Errorf("shoal-attack exited with status %d:\n%s", code, atk.out.tail(10))
	} else {
		t.Logf("shoal-attack %s", lastLine(atk.out.String()))
	}
	seed.noCrash(t)
	get.noCrash(t)
	if seed.exited() {
		t.Fatalf("seed exited with status %d", seed.code)
	}
	if code := seed.interrupt(t); code != 0 {
		t.Errorf("seed exited with status %d on Ctrl-C", code)
	}
}

// hold lets an attack run alone for s.hold (make soak) before the honest
// transfer starts; a victim that exits meanwhile fails the test.
func hold(t *testing.T, s scale, victim *proc) {
	t.Helper()
	if s.hold == 0 {
		return
	}
	select {
	case <-victim.done:
		t.Fatalf("%s exited with status %d under attack", victim.name, victim.code)
	case <-time.After(s.hold):
	}
}

// logGrowth logs how much the victim's peak memory grew under the attack.
func logGrowth(t *testing.T, victim *proc, base int64) {
	t.Helper()
	peak := victim.peakMemory()
	if base < 0 || peak < 0 {
		return // it exited, or this is not Linux
	}
	t.Logf("%s peak memory %d MiB before the attack, %d MiB under it", victim.name, base>>20, peak>>20)
}

var attackListenRe = regexp.MustCompile(`(?m)^listening on (\S+)$`)

// awaitDownload waits for get --no-seed to finish, failing at once if the
// seeder dies first, and compares what it wrote with the source.
func (fx *fixture) awaitDownload(t *testing.T, s scale, get *proc, dl string, seed *proc) {
	t.Helper()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(s.transfer)
wait:
	for {
		select {
		case <-get.done:
			break wait
		case <-deadline:
			t.Fatalf("the honest download did not complete within %v", s.transfer)
		case <-poll.C:
			if seed.exited() {
				t.Fatalf("seed exited with status %d during the honest download", seed.code)
			}
		}
	}
	if complete := strings.Contains(get.out.String(), "download complete"); get.code != 0 || !complete {
		t.Fatalf("get exited with status %d (download complete: %v)", get.code, complete)
	}
	for _, f := range fx.files {
		want, err := os.ReadFile(filepath.Join(fx.src, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dl, f))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the source (%v)", f, err)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestUsage checks the command line refuses what it cannot run, with one
// line that says why.
func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage:"},
		{[]string{"frobnicate"}, "unknown attack"},
		{[]string{"metadata", "-infohash", strings.Repeat("ab", 20)}, "-target"},
		{[]string{"metadata", "-target", "127.0.0.1:1"}, "-torrent FILE or -infohash"},
		{[]string{"metadata", "-target", "127.0.0.1:1", "-infohash", "xyz"}, "40 hex digits"},
		{[]string{"garbage", "-target", "127.0.0.1:1", "-infohash", strings.Repeat("ab", 20)}, "needs -torrent"},
		{[]string{"halfopen", "-target", "127.0.0.1:1", "-infohash", strings.Repeat("ab", 20), "-src", "::1"}, "IPv4"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(t.Context(), c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	// Nobody listening: the attack cannot run, which is an error, not a
	// success.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"metadata", "-target", addr, "-infohash", strings.Repeat("ab", 20)}, &out, &errb)
	if lines := strings.Split(strings.TrimSpace(errb.String()), "\n"); code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "shoal-attack: ") {
		t.Errorf("against a closed port: exit %d, stderr %q", code, errb.String())
	}
}
