// Command distbench measures how well a seeder with a capped upload fills a
// swarm: one seeder and K leechers, each a process of its own on loopback,
// every one uploading at most U, all leechers knowing the seeder and each
// other. The fluid-model floor for all K to finish (Kumar and Ross) is
// T* = max(F/U, K·F/((K+1)·U)); with equal caps T*/T is the seeder's
// utilisation divided by the copies of the content it sent, so the figures
// printed are T, T*/T and those copies, per client and K, in one run.
//
// Every peer but shoal is driven through the bench-peer contract
// (PEER -torrent F -dir D [-seed] [-peers A,B] [-port N] [-up-limit B/s]),
// shoal through its own CLI.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shoal-torrent/shoal/cmd/internal/benchkit"

	"github.com/dustin/go-humanize"
)

type config struct {
	size, piece, up              int64
	ks                           []int
	runs                         int
	impls                        []string
	shoal, anacrolix, lt, python string
	shoalSeedArgs                []string
	work                         string
	logDir                       string
	timeout                      time.Duration
}

func main() {
	var c config
	var size, piece, up, ks, impls, seedArgs string
	flag.StringVar(&size, "size", "64MiB", "size of the generated content F")
	flag.StringVar(&piece, "piece", "256KiB", "piece size")
	flag.StringVar(&up, "up", "4MiB", "upload cap U of every process, per second")
	flag.StringVar(&ks, "k", "8,16,32", "numbers of leechers, comma-separated")
	flag.IntVar(&c.runs, "runs", 1, "runs of each client at each K")
	flag.StringVar(&impls, "impls", "shoal,shoal-nospread,shoal-super,libtorrent,anacrolix", "clients to run, comma-separated (shoal-super: shoal seeding with --super-seed; shoal-nospread: with --no-spread)")
	flag.StringVar(&c.shoal, "shoal", "bin/shoal", "shoal binary")
	flag.StringVar(&seedArgs, "shoal-seed-args", "", "extra arguments for shoal's seeder, space-separated (e.g. --super-seed)")
	flag.StringVar(&c.anacrolix, "anacrolix", "bin/anacrolix-peer", "anacrolix bench peer")
	flag.StringVar(&c.lt, "libtorrent", "bench/ltpeer.py", "libtorrent bench peer script")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "the Python that has libtorrent")
	flag.StringVar(&c.work, "work", "", "work directory (default: a temporary one on tmpfs, removed after)")
	flag.StringVar(&c.logDir, "log", "", "copy every process's output to files in this directory")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up on a swarm after this")
	flag.Parse()
	err := func() error {
		var err error
		for _, p := range []struct {
			s   string
			dst *int64
		}{{size, &c.size}, {piece, &c.piece}, {up, &c.up}} {
			n, perr := humanize.ParseBytes(p.s)
			if perr != nil || n == 0 {
				return fmt.Errorf("%q: want a size such as 64MiB", p.s)
			}
			*p.dst = int64(n)
		}
		for _, k := range strings.Split(ks, ",") {
			n, kerr := strconv.Atoi(strings.TrimSpace(k))
			if kerr != nil || n < 1 {
				return fmt.Errorf("-k %q: want positive numbers, comma-separated", ks)
			}
			c.ks = append(c.ks, n)
		}
		c.impls = strings.Split(impls, ",")
		c.shoalSeedArgs = strings.Fields(seedArgs)
		return err
	}()
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "distbench:", err)
		os.Exit(1)
	}
}

// peer starts one client's seeders and leechers and reads what they print.
type peer interface {
	name() string
	// missing says why the client cannot run here, or "".
	missing() string
	seeder(tor, dir string, port int, up int64) *exec.Cmd
	leecher(tor, dir string, port int, peers []string, up int64) *exec.Cmd
	// ready, listening, done and uploaded read one line of the
	// process's stdout.
	ready(line string) bool
	listening(line string) bool
	done(line string) bool
	uploaded(line string) (int64, bool)
}

type shoalPeer struct {
	label    string
	bin      string
	seedArgs []string
}

func (s shoalPeer) name() string { return s.label }
func (s shoalPeer) missing() string {
	if _, err := os.Stat(s.bin); err != nil {
		return s.bin + " not built"
	}
	return ""
}

// common are the flags both roles share: loopback peers only, as many
// connections from 127.0.0.1 as the swarm has, plain TCP (the other
// clients here dial plain too; RC4 would cost every process CPU the
// two cores cannot spare at K = 32).
func (shoalPeer) common(dir string, port int, up int64) []string {
	return []string{"--dir", dir, "--port", strconv.Itoa(port), "--json", "--state-dir", filepath.Join(dir, ".state"),
		"--no-dht", "--no-port-forwarding", "--no-trackers", "--no-utp", "--encryption", "tolerated", "--max-peers", "200", "--max-peers-per-ip", "200",
		"--up-limit", strconv.FormatInt(up, 10)}
}
func (s shoalPeer) seeder(tor, dir string, port int, up int64) *exec.Cmd {
	args := append([]string{"seed", tor}, s.common(dir, port, up)...)
	return exec.Command(s.bin, append(args, s.seedArgs...)...)
}
func (s shoalPeer) leecher(tor, dir string, port int, peers []string, up int64) *exec.Cmd {
	args := append([]string{"get", tor}, s.common(dir, port, up)...)
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	return exec.Command(s.bin, args...)
}

type shoalEvent struct {
	Event, State string
	Uploaded     *int64
}

func parseShoal(line string) shoalEvent {
	var ev shoalEvent
	json.Unmarshal([]byte(line), &ev)
	return ev
}
func (shoalPeer) ready(line string) bool {
	ev := parseShoal(line)
	return ev.Event == "progress" && ev.State == "seeding"
}
func (shoalPeer) done(line string) bool      { return parseShoal(line).Event == "complete" }
func (shoalPeer) listening(line string) bool { return parseShoal(line).Event == "listening" }

// uploaded takes the seeder's count from its progress events and, last,
// from its stopped event.
func (shoalPeer) uploaded(line string) (int64, bool) {
	ev := parseShoal(line)
	if ev.Uploaded == nil {
		return 0, false
	}
	return *ev.Uploaded, true
}

// contractPeer is a client behind the bench-peer contract.
type contractPeer struct {
	label string
	cmd   []string // the program and any leading arguments
	file  string   // what must exist for it to run
}

func (p contractPeer) name() string { return p.label }
func (p contractPeer) missing() string {
	if _, err := os.Stat(p.file); err != nil {
		return p.file + " missing"
	}
	return ""
}
func (p contractPeer) command(args ...string) *exec.Cmd {
	return exec.Command(p.cmd[0], append(append([]string{}, p.cmd[1:]...), args...)...)
}
func (p contractPeer) seeder(tor, dir string, port int, up int64) *exec.Cmd {
	return p.command("-torrent", tor, "-dir", dir, "-seed", "-port", strconv.Itoa(port), "-up-limit", strconv.FormatInt(up, 10))
}
func (p contractPeer) leecher(tor, dir string, port int, peers []string, up int64) *exec.Cmd {
	return p.command("-torrent", tor, "-dir", dir, "-port", strconv.Itoa(port), "-peers", strings.Join(peers, ","),
		"-up-limit", strconv.FormatInt(up, 10))
}
func (contractPeer) ready(line string) bool { return strings.HasPrefix(line, "ready ") }
func (contractPeer) done(line string) bool  { return strings.TrimSpace(line) == "done" }
func (contractPeer) listening(line string) bool {
	return strings.HasPrefix(line, "listening ") || strings.HasPrefix(line, "ready ")
}
func (contractPeer) uploaded(line string) (int64, bool) {
	s, ok := strings.CutPrefix(strings.TrimSpace(line), "uploaded ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func run(c config) error {
	work := c.work
	if work == "" {
		d, remove, err := benchkit.WorkDir("distbench-")
		if err != nil {
			return err
		}
		defer remove()
		work = d
	}
	src := filepath.Join(work, "src")
	tor := filepath.Join(work, "dist.torrent")
	if err := benchkit.MakeTorrent(filepath.Join(src, "dist.bin"), tor, c.size, c.piece); err != nil {
		return err
	}
	var peers []peer
	for _, name := range c.impls {
		switch strings.TrimSpace(name) {
		case "shoal":
			peers = append(peers, shoalPeer{label: "shoal", bin: c.shoal, seedArgs: c.shoalSeedArgs})
		case "shoal-super":
			args := append([]string{"--super-seed"}, c.shoalSeedArgs...)
			peers = append(peers, shoalPeer{label: "shoal --super-seed", bin: c.shoal, seedArgs: args})
		case "shoal-nospread":
			args := append([]string{"--no-spread"}, c.shoalSeedArgs...)
			peers = append(peers, shoalPeer{label: "shoal --no-spread", bin: c.shoal, seedArgs: args})
		case "libtorrent":
			peers = append(peers, contractPeer{label: "libtorrent", cmd: []string{c.python, c.lt}, file: c.lt})
		case "anacrolix":
			peers = append(peers, contractPeer{label: "anacrolix", cmd: []string{c.anacrolix}, file: c.anacrolix})
		default:
			return fmt.Errorf("-impls: unknown client %q (shoal, shoal-super, shoal-nospread, libtorrent, anacrolix)", name)
		}
	}
	f, u := float64(c.size), float64(c.up)
	fmt.Printf("1 seeder + K leechers, F = %s, pieces of %s, every process capped at U = %s/s\n",
		humanize.IBytes(uint64(c.size)), humanize.IBytes(uint64(c.piece)), humanize.IBytes(uint64(c.up)))
	// Fixed columns rather than a tabwriter: each row is printed as soon
	// as its swarm is done.
	const row = "%3v  %-18s  %7s  %6s  %5s  %13s  %18s  %21s\n"
	fmt.Printf(row, "K", "client", "T", "T*", "T*/T", "seeder copies", "leechers' upload/F", "last leecher up after")
	for ki, k := range c.ks {
		tstar := max(f/u, float64(k)*f/(float64(k+1)*u))
		order := peers
		if ki%2 == 1 && len(peers) > 1 {
			order = append(append([]peer{}, peers[1:]...), peers[0]) // alternate who goes first
		}
		for _, p := range order {
			for r := 0; r < c.runs; r++ {
				if why := p.missing(); why != "" {
					fmt.Printf("%3d  %-18s  skipped: %s\n", k, p.name(), why)
					break
				}
				res, err := swarm(c, p, k, tor, src, filepath.Join(work, "swarm"))
				if err != nil {
					fmt.Printf("%3d  %-18s  failed: %v\n", k, p.name(), err)
					continue
				}
				fmt.Printf(row, k, p.name(), fmt.Sprintf("%.1f s", res.wall.Seconds()), fmt.Sprintf("%.1f s", tstar),
					fmt.Sprintf("%.2f", tstar/res.wall.Seconds()), fmt.Sprintf("%.2f", float64(res.seedUp)/f),
					fmt.Sprintf("%.2f", float64(res.leechUp)/f), fmt.Sprintf("%.1f s", res.startup.Seconds()))
			}
		}
	}
	return nil
}

type result struct {
	wall            time.Duration
	startup         time.Duration // until the last leecher listened
	seedUp, leechUp int64
}

// proc is a started peer process whose stdout is read to its end.
type proc struct {
	cmd *exec.Cmd
	// ready, listening and done are closed at the first such line; eof
	// at the end of the output.
	ready, listening, done, eof chan struct{}
	listeningAt                 time.Time
	mu                          sync.Mutex
	uploaded                    int64 // the last count it printed
}

func start(p peer, cmd *exec.Cmd, logPath string) (*proc, error) {
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var out io.Reader = pipe
	var logFile *os.File
	if logPath != "" {
		if logFile, err = os.Create(logPath); err != nil {
			return nil, err
		}
		out = io.TeeReader(pipe, logFile)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pr := &proc{cmd: cmd, ready: make(chan struct{}), listening: make(chan struct{}), done: make(chan struct{}), eof: make(chan struct{})}
	go func() {
		defer close(pr.eof)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ready, listening, done bool
		for sc.Scan() {
			line := sc.Text()
			if n, ok := p.uploaded(line); ok {
				pr.mu.Lock()
				pr.uploaded = n
				pr.mu.Unlock()
			}
			if !ready && p.ready(line) {
				ready = true
				close(pr.ready)
			}
			if !listening && p.listening(line) {
				listening = true
				pr.listeningAt = time.Now()
				close(pr.listening)
			}
			if !done && p.done(line) {
				done = true
				close(pr.done)
			}
		}
		io.Copy(io.Discard, out)
		if logFile != nil {
			logFile.Close()
		}
	}()
	return pr, nil
}

// waitFor waits for ch to close, the process's output to end or the
// deadline.
func (pr *proc) waitFor(ch chan struct{}, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ch:
		return nil
	case <-pr.eof:
		select {
		case <-ch:
			return nil
		default:
			return errors.New("exited early")
		}
	case <-timer.C:
		return errors.New("timed out")
	}
}

// stop interrupts the process and returns the upload count it printed.
func (pr *proc) stop() int64 {
	pr.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		<-pr.eof
		pr.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		pr.cmd.Process.Kill()
		<-done
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.uploaded
}

// swarm runs one seeder and k leechers until every leecher is done; the
// leechers keep seeding to each other until the last one is.
func swarm(c config, p peer, k int, tor, src, work string) (result, error) {
	os.RemoveAll(work)
	defer os.RemoveAll(work)
	ports, err := freePorts(k + 1)
	if err != nil {
		return result{}, err
	}
	addr := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	deadline := time.Now().Add(c.timeout)
	logPath := func(role string) string {
		if c.logDir == "" {
			return ""
		}
		return filepath.Join(c.logDir, fmt.Sprintf("%s-k%d-%s.log", strings.ReplaceAll(strings.TrimLeft(strings.ReplaceAll(p.name(), " ", ""), "-"), "--", "-"), k, role))
	}
	seeder, err := start(p, p.seeder(tor, src, ports[0], c.up), logPath("seeder"))
	if err != nil {
		return result{}, err
	}
	var leechers []*proc
	defer func() {
		for _, l := range leechers {
			l.stop()
		}
		seeder.stop()
	}()
	if err := seeder.waitFor(seeder.ready, deadline); err != nil {
		return result{}, fmt.Errorf("seeder: %w", err)
	}
	begin := time.Now()
	for i := 1; i <= k; i++ {
		var peers []string
		for j, q := range ports {
			if j != i {
				peers = append(peers, addr(q))
			}
		}
		l, err := start(p, p.leecher(tor, filepath.Join(work, strconv.Itoa(i)), ports[i], peers, c.up), logPath(fmt.Sprintf("leecher%d", i)))
		if err != nil {
			return result{}, err
		}
		leechers = append(leechers, l)
	}
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i, l := range leechers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.waitFor(l.done, deadline); err != nil {
				errs[i] = fmt.Errorf("leecher %d: %w", i+1, err)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(begin)
	if err := errors.Join(errs...); err != nil {
		return result{}, err
	}
	res := result{wall: wall}
	for _, l := range leechers {
		select {
		case <-l.listening:
			res.startup = max(res.startup, l.listeningAt.Sub(begin))
		default:
		}
	}
	for _, l := range leechers {
		res.leechUp += l.stop()
	}
	leechers = nil
	res.seedUp = seeder.stop()
	return res, nil
}

// freePorts finds n distinct free TCP ports, all held until every one is
// found so none repeats.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
