//go:build linux

// Command trackerbench is a load generator for BitTorrent trackers: UDP
// connect+announce and HTTP announce from many goroutines, for a bounded
// time and count, reporting announces per second, errors, latency
// percentiles and memory per tracked peer. It runs shoal's tracker and
// opentracker in turn, each on CPU 0 when taskset is available, so the
// figures come from one run on one machine. Traffic stays on 127.0.0.1.
// It is Linux only: it pins with taskset, reads /proc and batches with
// sendmmsg and recvmmsg.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	shoal, opentracker string
	duration           time.Duration
	maxRequests        int64
	workers            int
	torrents, peers    int
	target             int
	rounds             int
	depth              int
	protos             []string
	openLoop           bool
	step               time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.shoal, "shoal", "bin/shoal", "shoal binary (empty: skip)")
	flag.StringVar(&c.opentracker, "opentracker", "/usr/bin/opentracker", "opentracker binary (empty or missing: skip)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long each load runs")
	flag.Int64Var(&c.maxRequests, "max-requests", 5_000_000, "stop a load after this many requests")
	flag.IntVar(&c.workers, "workers", 64, "concurrent clients")
	flag.IntVar(&c.torrents, "torrents", 1000, "distinct infohashes")
	flag.IntVar(&c.peers, "peers", 100, "distinct peers per infohash")
	flag.IntVar(&c.target, "target-port", 0, "load a tracker already listening on this 127.0.0.1 port (UDP and HTTP, as -proto says) instead of starting any")
	flag.IntVar(&c.rounds, "rounds", 1, "repeat every load this many times, alternating which tracker goes first")
	flag.IntVar(&c.depth, "depth", 8, "UDP requests each client socket keeps outstanding (workers/depth sockets)")
	protos := flag.String("proto", "udp,http", "protocols to load, comma-separated")
	flag.BoolVar(&c.openLoop, "open-loop", false, "then find each tracker's UDP ceiling at a fixed offered rate and its latency at 50, 80 and 100% of it")
	flag.DurationVar(&c.step, "step", 3*time.Second, "how long each open-loop rate runs")
	flag.Parse()
	c.protos = strings.Split(*protos, ",")
	for _, p := range c.protos {
		if p != "udp" && p != "http" {
			fmt.Fprintf(os.Stderr, "trackerbench: unknown protocol %q (udp, http)\n", p)
			os.Exit(2)
		}
	}
	if c.target != 0 {
		if c.openLoop {
			if _, err := openSweep(c, "target", c.target, nil); err != nil {
				fmt.Fprintln(os.Stderr, "trackerbench:", err)
				os.Exit(1)
			}
			return
		}
		if err := warmUp(c, c.target); err != nil {
			fmt.Fprintln(os.Stderr, "trackerbench:", err)
			os.Exit(1)
		}
		for _, proto := range c.protos {
			var r result
			if proto == "udp" {
				r = udpLoad(c, c.target)
			} else {
				r = httpLoad(c, c.target)
			}
			fmt.Printf("%s %.0f announces/s (errors %d)\n", proto, r.rate(), r.errors)
		}
		return
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "trackerbench:", err)
		os.Exit(1)
	}
}

type server struct {
	name string
	cmd  *exec.Cmd
	port int
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pinned runs a command on CPU 0 when taskset exists.
func pinned(name string, args ...string) *exec.Cmd {
	if ts, err := exec.LookPath("taskset"); err == nil {
		return exec.Command(ts, append([]string{"-c", "0", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func startServer(c config, name, bin string, port int) (*server, error) {
	p := strconv.Itoa(port)
	var cmd *exec.Cmd
	switch name {
	case "shoal":
		cmd = pinned(bin, "tracker", "--http", "127.0.0.1:"+p, "--udp", "127.0.0.1:"+p, "--ip-rate", "0", "--ip-torrent-rate", "0")
	default:
		// Debian builds opentracker in whitelist mode: list our torrents,
		// in the directory it chroots to.
		dir, err := os.MkdirTemp("", "trackerbench-")
		if err != nil {
			return nil, err
		}
		var wl strings.Builder
		for t := range c.torrents {
			fmt.Fprintf(&wl, "%x\n", infoHash(t))
		}
		if err := os.WriteFile(dir+"/whitelist", []byte(wl.String()), 0o644); err != nil {
			return nil, err
		}
		os.Chmod(dir, 0o755) // it drops privileges to nobody
		cmd = pinned(bin, "-i", "127.0.0.1", "-p", p, "-P", p, "-d", dir, "-w", "whitelist")
		cmd.Dir = dir
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{name: name, cmd: cmd, port: port}
	// Ready once a UDP connect is answered.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp", "127.0.0.1:"+p)
		if err == nil {
			_, err = udpConnect(c.(*net.UDPConn), 200*time.Millisecond)
			c.Close()
			if err == nil {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, fmt.Errorf("%s did not start", name)
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// rss is the server's resident memory (the real server process, not the
// taskset wrapper, which execs it and keeps its pid).
func (s *server) rss() int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(sc.Text())[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cpu is the server's CPU time so far, user and system, all threads:
// announces per CPU-second is the figure a busy machine disturbs least,
// since time the server spends waiting for a core is not counted.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// result of one load.
type result struct {
	requests, errors int64
	elapsed          time.Duration
	hist             hist
	// cpu is the server's CPU time during the load.
	cpu time.Duration
}

// perCPU is announces per second of server CPU.
func (r result) perCPU() float64 {
	if r.cpu <= 0 {
		return 0
	}
	return float64(r.requests-r.errors) / r.cpu.Seconds()
}

func (r result) rate() float64 { return float64(r.requests-r.errors) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration { return r.hist.pct(p) }

func run(c config) error {
	var impls []impl
	if c.shoal != "" {
		impls = append(impls, impl{"shoal", c.shoal})
	}
	if _, err := os.Stat(c.opentracker); c.opentracker != "" && err == nil {
		impls = append(impls, impl{"opentracker", c.opentracker})
	} else {
		fmt.Println("opentracker not found: measuring shoal alone (apt-get install opentracker)")
	}
	var rows []row
	for round := range c.rounds {
		// Alternate the order so neither side always runs first, while
		// the machine is warmer or a neighbour's build is starting.
		order := slices.Clone(impls)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, proto := range c.protos {
			for _, im := range order {
				r, err := closedRun(c, im, proto)
				if err != nil {
					return err
				}
				r.round = round
				rows = append(rows, r)
				fmt.Printf("  round %d %-11s %-4s %9.0f announces/s %9.0f per CPU-s  errors %d\n", round+1, im.name, proto, r.r.rate(), r.r.perCPU(), r.r.errors)
			}
		}
	}
	fmt.Printf("\n%-5s %-11s %-5s %12s %12s %8s %9s %9s %9s %11s\n", "round", "tracker", "proto", "announces/s", "per CPU-s", "errors", "p50", "p90", "p99", "bytes/peer")
	for _, r := range rows {
		fmt.Printf("%-5d %-11s %-5s %12.0f %12.0f %8d %9s %9s %9s %11.0f\n", r.round+1, r.name, r.proto, r.r.rate(), r.r.perCPU(), r.r.errors,
			r.r.pct(0.5).Round(time.Microsecond), r.r.pct(0.9).Round(time.Microsecond), r.r.pct(0.99).Round(time.Microsecond), r.perPeer)
	}
	for _, proto := range c.protos {
		printRatios(rows, proto, "announces/s", result.rate)
		printRatios(rows, proto, "per CPU-s", result.perCPU)
	}
	if c.openLoop {
		return openLoop(c, impls)
	}
	return nil
}

type impl struct{ name, bin string }

type row struct {
	name, proto string
	round       int
	r           result
	perPeer     float64
}

// closedRun starts a fresh server and loads it with c.workers clients,
// each sending its next request when the last is answered.
func closedRun(c config, im impl, proto string) (row, error) {
	s, err := startServer(c, im.name, im.bin, freePort())
	if err != nil {
		return row{}, err
	}
	defer s.stop()
	base := s.rss()
	if err := warmUp(c, s.port); err != nil {
		return row{}, err
	}
	cpu0 := s.cpu()
	var r result
	if proto == "udp" {
		r = udpLoad(c, s.port)
	} else {
		r = httpLoad(c, s.port)
	}
	r.cpu = s.cpu() - cpu0
	grown := s.rss() - base
	tracked := int64(c.torrents * c.peers)
	return row{name: im.name, proto: proto, r: r, perPeer: float64(grown) / float64(max(tracked, 1))}, nil
}

// printRatios prints shoal/opentracker for each round in which both ran,
// then their range and median: on a shared machine one round says little.
func printRatios(rows []row, proto, what string, f func(result) float64) {
	var ratios []float64
	for _, a := range rows {
		if a.proto != proto || a.name != "shoal" {
			continue
		}
		for _, b := range rows {
			if b.proto == proto && b.round == a.round && b.name == "opentracker" && f(b.r) > 0 {
				ratios = append(ratios, f(a.r)/f(b.r))
			}
		}
	}
	if len(ratios) == 0 {
		return
	}
	slices.Sort(ratios)
	fmt.Printf("ratio shoal/opentracker %-4s %-11s: %.2fx–%.2fx over %d rounds, median %.2fx\n", proto, what,
		ratios[0], ratios[len(ratios)-1], len(ratios), ratios[len(ratios)/2])
}

// load runs fn from c.workers goroutines until the duration or request
// budget is spent.
func load(c config, fn func(w int, n int64) (time.Duration, error)) result {
	var reqs, errs atomic.Int64
	deadline := time.Now().Add(c.duration)
	lats := make([]hist, c.workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int64(0); ; n++ {
				if reqs.Add(1) > c.maxRequests || time.Now().After(deadline) {
					reqs.Add(-1)
					return
				}
				d, err := fn(w, n)
				if err != nil {
					errs.Add(1)
				} else {
					lats[w].add(d)
				}
			}
		}()
	}
	wg.Wait()
	r := result{requests: reqs.Load(), errors: errs.Load(), elapsed: time.Since(start)}
	for i := range lats {
		r.hist.merge(&lats[i])
	}
	return r
}

func infoHash(n int) []byte {
	var h [20]byte
	binary.BigEndian.PutUint64(h[:], uint64(n)*0x9E3779B97F4A7C15)
	copy(h[8:], "trackerbench")
	return h[:]
}

func peerID(n int) []byte {
	var id [20]byte
	copy(id[:], "-TB0001-")
	binary.BigEndian.PutUint64(id[12:], uint64(n))
	return id[:]
}

func pick(c config, w int, n int64) (t, p int) {
	x := uint64(w)*0x9E3779B97F4A7C15 + uint64(n)*0xBF58476D1CE4E5B9
	x ^= x >> 31
	return int(x % uint64(c.torrents)), int((x >> 20) % uint64(c.peers))
}

func udpConnect(c *net.UDPConn, timeout time.Duration) (uint64, error) {
	p := binary.BigEndian.AppendUint64(nil, 0x41727101980)
	p = binary.BigEndian.AppendUint32(p, 0)
	p = binary.BigEndian.AppendUint32(p, 1)
	if _, err := c.Write(p); err != nil {
		return 0, err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return 0, err
	}
	if n < 16 || binary.BigEndian.Uint32(buf) != 0 {
		return 0, errors.New("bad connect reply")
	}
	return binary.BigEndian.Uint64(buf[8:16]), nil
}

func httpLoad(c config, port int) result {
	tr := &http.Transport{MaxIdleConnsPerHost: c.workers, MaxConnsPerHost: c.workers, DisableCompression: true}
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	var rnd [4]byte
	rand.Read(rnd[:])
	return load(c, func(w int, n int64) (time.Duration, error) {
		t, p := pick(c, w, n)
		u := fmt.Sprintf("http://127.0.0.1:%d/announce?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&numwant=50",
			port, url.QueryEscape(string(infoHash(t))), url.QueryEscape(string(peerID(t*c.peers+p))), 1024+p, p%3)
		start := time.Now()
		resp, err := cl.Get(u)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != 200 || strings.Contains(string(body), "failure reason") {
			return 0, fmt.Errorf("refused: %.80s", body)
		}
		return time.Since(start), nil
	})
}
