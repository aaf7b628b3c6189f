// Command swarmbench measures shoal against anacrolix/torrent (v1.59.1 and
// v1.62.0) and libtorrent 2.0.8 on loopback in one run: a 1 seeder -> 1
// leecher transfer of a generated file over plain TCP, repeated, the same
// over uTP for shoal and anacrolix v1.59.1 (a smaller file: uTP on
// loopback is far slower), and a 1 seeder + 4 leechers swarm over TCP.
// Each peer is a process of its own, so CPU time and memory are measured
// per side; every client but shoal is driven through the bench-peer
// contract (peers.go). It prints medians and the ratios of shoal to the
// others, headed by the faster of anacrolix v1.62.0 and libtorrent;
// absolute times depend on the machine, ratios much less.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shoal-torrent/shoal/cmd/internal/benchkit"

	"github.com/dustin/go-humanize"
)

type config struct {
	size, piece      int64
	utpSize          int64 // 0: no uTP transfers
	runs             int
	shoal, anacrolix string
	anacrolix162     string // bin/anacrolix162-peer
	python, ltpeer   string // the interpreter with libtorrent, and bench/ltpeer.py
	work             string
	swarm            bool
	timeout          time.Duration
}

func main() {
	var c config
	var size, piece, utpSize string
	flag.StringVar(&size, "size", "1GiB", "size of the generated file")
	flag.StringVar(&utpSize, "utp-size", "256MiB", "size of the file moved over uTP (0: no uTP transfers)")
	flag.StringVar(&piece, "piece", "1MiB", "piece size")
	flag.IntVar(&c.runs, "runs", 3, "repetitions of the 1 -> 1 transfer")
	flag.StringVar(&c.shoal, "shoal", "bin/shoal", "shoal binary")
	flag.StringVar(&c.anacrolix, "anacrolix", "bin/anacrolix-peer", "anacrolix-peer binary (v1.59.1)")
	flag.StringVar(&c.anacrolix162, "anacrolix162", "bin/anacrolix162-peer", "anacrolix162-peer binary (v1.62.0)")
	flag.StringVar(&c.python, "python", "/usr/bin/python3", "Python that imports libtorrent (Debian's python3-libtorrent)")
	flag.StringVar(&c.ltpeer, "ltpeer", "bench/ltpeer.py", "the libtorrent peer script")
	flag.StringVar(&c.work, "work", "", "work directory (default: a temporary one, removed after)")
	flag.BoolVar(&c.swarm, "swarm", true, "also time a 1 seeder + 4 leechers swarm")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up on a transfer after this")
	lat := latencyFlags(flag.CommandLine)
	flag.Parse()
	var err error
	if c.size, err = parseSize(size); err == nil {
		c.piece, err = parseSize(piece)
	}
	if err == nil && utpSize != "0" {
		c.utpSize, err = parseSize(utpSize)
	}
	if err == nil && lat.on {
		err = runLatency(c, *lat)
	} else if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbench:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	return int64(n), err
}

// result is one leecher's transfer.
type result struct {
	wall     time.Duration // listening line to done line
	startup  time.Duration // start of the leecher process to its listening line, outside wall
	leechCPU time.Duration
	seedCPU  time.Duration
	peakRSS  int64 // bytes
	peakAnon int64 // bytes
}

func run(c config) error {
	work := c.work
	if work == "" {
		d, remove, err := benchkit.WorkDir("swarmbench-")
		if err != nil {
			return err
		}
		defer remove()
		work = d
	}
	src := filepath.Join(work, "src")
	tor, err := makeTorrent(filepath.Join(src, "big.bin"), filepath.Join(work, "big.torrent"), c.size, c.piece)
	if err != nil {
		return err
	}
	fmt.Println(loadAvg())
	fmt.Println("TCP rows: every client moves plain TCP (shoal --no-utp --encryption tolerated, anacrolix with")
	fmt.Println("header obfuscation off, libtorrent with outgoing encryption off); each seeds to its own kind")
	cands, err := warmUp(c, tcpCandidates(c), tor, src, filepath.Join(work, "dl"))
	if err != nil {
		return err
	}
	impls := runnable(cands)
	med, err := oneToOne(c, impls, tor, src, work, c.size, "over plain TCP")
	if err != nil {
		return err
	}
	printSkipped(cands)
	printHeadline(med)
	if c.utpSize > 0 {
		usrc := filepath.Join(work, "src-utp")
		utor, err := makeTorrent(filepath.Join(usrc, "big.bin"), filepath.Join(work, "utp.torrent"), c.utpSize, c.piece)
		if err != nil {
			return err
		}
		uimpls := []impl{shoalImpl{bin: c.shoal, utp: true}, anacrolixImpl{bin: c.anacrolix, utp: true}}
		if _, err := oneToOne(c, uimpls, utor, usrc, work, c.utpSize, "over uTP"); err != nil {
			return err
		}
	}

	if c.swarm {
		fmt.Printf("\n1 seeder + 4 leechers over plain TCP, %s; leechers keep seeding once done\n", humanize.IBytes(uint64(c.size)))
		var times []time.Duration
		for _, im := range impls {
			d, spread, err := swarmRun(c, im, tor, src, filepath.Join(work, "swarm"))
			if err != nil {
				return fmt.Errorf("%s swarm: %w", im.name(), err)
			}
			times = append(times, d)
			fmt.Printf("  %-18s all 4 complete in %s (first listening to last done; the 4 listening lines %s apart)\n",
				im.name(), d.Round(time.Millisecond), spread.Round(time.Millisecond))
		}
		fmt.Println(loadAvg())
		printSkipped(cands)
		for i, im := range impls[1:] {
			fmt.Printf("ratio shoal/%s: swarm completion time %.2fx (below 1: shoal faster), speed-up %.2fx\n", im.name(), float64(times[0])/float64(times[i+1]), float64(times[i+1])/float64(times[0]))
		}
	}
	return nil
}

// makeTorrent generates a file of size at path and a torrent of it.
func makeTorrent(path, torPath string, size, piece int64) (string, error) {
	fmt.Printf("generating %s (pieces of %s) in %s\n", humanize.IBytes(uint64(size)), humanize.IBytes(uint64(piece)), filepath.Dir(path))
	return torPath, benchkit.MakeTorrent(path, torPath, size, piece)
}

// oneToOne times c.runs 1 seeder -> 1 leecher transfers of each impl,
// alternating the order (reversed every other run), prints the medians
// and the ratios of impls[0] to each other, and returns the medians by
// name.
func oneToOne(c config, impls []impl, tor, src, work string, size int64, how string) (map[string]result, error) {
	results := map[string][]result{}
	for r := 1; r <= c.runs; r++ {
		order := slices.Clone(impls)
		if r%2 == 0 {
			slices.Reverse(order) // alternate who goes first
		}
		for _, im := range order {
			res, err := transfer(c, im, tor, src, filepath.Join(work, "dl"))
			if err != nil {
				return nil, fmt.Errorf("%s run %d: %w", im.name(), r, err)
			}
			fmt.Printf("  run %d %-21s %6.0f MiB/s  %s\n", r, im.name(), mibps(size, res.wall), res.wall.Round(time.Millisecond))
			results[im.name()] = append(results[im.name()], res)
		}
	}
	gib := float64(size) / (1 << 30)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("\n1 seeder -> 1 leecher %s, %s, median of %d runs (anon: RssAnon sampled every 10 ms)\n", how, humanize.IBytes(uint64(size)), c.runs)
	fmt.Println("wall and both CPU columns: from the leecher's listening line to its done line; start-up: its process start to listening")
	fmt.Fprintln(tw, "impl\twall\tMiB/s\tleecher CPU s/GiB\tseeder CPU s/GiB\tleecher peak RSS\tleecher peak anon\tstart-up\t")
	med := map[string]result{}
	for _, im := range impls {
		rs := results[im.name()]
		m := result{
			wall:     median(rs, func(r result) float64 { return float64(r.wall) }),
			leechCPU: median(rs, func(r result) float64 { return float64(r.leechCPU) }),
			seedCPU:  median(rs, func(r result) float64 { return float64(r.seedCPU) }),
			peakRSS:  int64(median(rs, func(r result) float64 { return float64(r.peakRSS) })),
			peakAnon: int64(median(rs, func(r result) float64 { return float64(r.peakAnon) })),
			startup:  median(rs, func(r result) float64 { return float64(r.startup) }),
		}
		med[im.name()] = m
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.2f\t%s\t%s\t%s\t\n", im.name(), m.wall.Round(time.Millisecond), mibps(size, m.wall),
			m.leechCPU.Seconds()/gib, m.seedCPU.Seconds()/gib, humanize.IBytes(uint64(m.peakRSS)), humanize.IBytes(uint64(m.peakAnon)),
			m.startup.Round(time.Millisecond))
	}
	tw.Flush()
	fmt.Println(loadAvg())
	fmt.Println()
	for _, im := range impls[1:] {
		fmt.Printf("ratios %s/%s: %s\n", impls[0].name(), im.name(), ratios(med[impls[0].name()], med[im.name()]))
	}
	fmt.Println()
	return med, nil
}

// ratios compares s with a: throughput as a speed-up (above 1: s is
// faster), CPU and memory as s's share of a's (below 1: s uses less).
func ratios(s, a result) string {
	return fmt.Sprintf("throughput %.2fx, wall %.2fx, leecher CPU %.2fx, seeder CPU %.2fx, leecher anon memory %.2fx",
		float64(a.wall)/float64(s.wall), float64(s.wall)/float64(a.wall),
		float64(s.leechCPU)/float64(max(a.leechCPU, 1)), float64(s.seedCPU)/float64(max(a.seedCPU, 1)),
		float64(s.peakAnon)/float64(max(a.peakAnon, 1)))
}

// printHeadline compares shoal with the faster anchor, the figure issue
// 14's targets are set against.
func printHeadline(med map[string]result) {
	name, a, err := fastestAnchor(med)
	s, ok := med["shoal"]
	if err != nil || !ok {
		fmt.Println("headline: none (no anchor ran)")
		return
	}
	fmt.Printf("headline shoal / the faster of %s (%s): %s\n\n", strings.Join(anchors, " and "), name, ratios(s, a))
}

func mibps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

func median(rs []result, f func(result) float64) time.Duration {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return time.Duration(v[len(v)/2])
}

// transfer times one 1 -> 1 transfer. The window is the same for every
// client: from the leecher's listening line (set up, its peer given,
// interpreter and process start-up behind it) to its done line; both
// sides' CPU is counted over that window alone, from /proc at those two
// lines, so Python's import of libtorrent or a Go binary's start counts
// for no one. The start-up before the window is reported on its own.
func transfer(c config, im impl, tor, src, dl string) (result, error) {
	os.RemoveAll(dl)
	defer os.RemoveAll(dl)
	seeder, port, err := startSeeder(im, tor, src)
	if err != nil {
		return result{}, err
	}
	defer stopSeeder(seeder)
	lport, err := freePort()
	if err != nil {
		return result{}, err
	}
	leech, err := startLeecher(im, im.leecher(tor, dl, lport, []string{fmt.Sprintf("127.0.0.1:%d", port)}, filepath.Join(dl, ".state")), seeder.Process.Pid)
	if err != nil {
		return result{}, err
	}
	var peakAnon int64
	stopPoll := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				peakAnon = max(peakAnon, procAnon(leech.cmd.Process.Pid))
			}
		}
	}()
	err = leech.await(c.timeout)
	close(stopPoll)
	wg.Wait()
	if err != nil {
		return result{}, fmt.Errorf("leecher: %w", err)
	}
	if err := leech.stop(); err != nil {
		return result{}, fmt.Errorf("leecher: %w", err)
	}
	res := result{
		wall:     leech.done.at.Sub(leech.listening.at),
		startup:  leech.listening.at.Sub(leech.spawned.at),
		leechCPU: leech.done.cpu - leech.listening.cpu,
		seedCPU:  leech.done.peerCPU - leech.listening.peerCPU,
		peakAnon: peakAnon,
	}
	if ru, ok := leech.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.peakRSS = ru.Maxrss * 1024
	}
	return res, nil
}

// swarmRun times 4 leechers that know the seeder and each other, from
// the first leecher's listening line to the last one's done line (so one
// process start-up is outside the window, as in the 1 -> 1 rows; the
// others' overlap the transfer), and returns that and the spread of the
// listening lines.
func swarmRun(c config, im impl, tor, src, work string) (time.Duration, time.Duration, error) {
	os.RemoveAll(work)
	defer os.RemoveAll(work)
	seeder, port, err := startSeeder(im, tor, src)
	if err != nil {
		return 0, 0, err
	}
	defer stopSeeder(seeder)
	var ports []int
	for range 4 {
		p, err := freePort()
		if err != nil {
			return 0, 0, err
		}
		ports = append(ports, p)
	}
	var ls []*leecher
	defer func() {
		for _, l := range ls {
			l.stop()
		}
	}()
	for i, p := range ports {
		peers := []string{fmt.Sprintf("127.0.0.1:%d", port)}
		for j, q := range ports {
			if j != i {
				peers = append(peers, fmt.Sprintf("127.0.0.1:%d", q))
			}
		}
		dir := filepath.Join(work, strconv.Itoa(i))
		l, err := startLeecher(im, im.leecher(tor, dir, p, peers, filepath.Join(dir, ".state")), 0)
		if err != nil {
			return 0, 0, err
		}
		ls = append(ls, l)
	}
	// Each keeps seeding to the others once done; the swarm is complete
	// when the last one is.
	var errs []error
	var first, lastListening, last time.Time
	deadline := time.Now().Add(c.timeout)
	for _, l := range ls {
		if err := l.await(time.Until(deadline)); err != nil {
			errs = append(errs, err)
			continue
		}
		if first.IsZero() || l.listening.at.Before(first) {
			first = l.listening.at
		}
		if l.listening.at.After(lastListening) {
			lastListening = l.listening.at
		}
		if l.done.at.After(last) {
			last = l.done.at
		}
	}
	return last.Sub(first), lastListening.Sub(first), errors.Join(errs...)
}
