package main

// The latency mode: 1 seeder -> 1 leecher through a proxy that delays
// each direction by half the round trip (internal/delayproxy), so the
// request pipeline shows what loopback's zero RTT hides. The leecher
// knows only the proxy's address; the seeder never sees the leecher's.

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shoal-torrent/shoal/cmd/internal/benchkit"

	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/internal/delayproxy"
)

// latencyConfig is the latency mode's own flags.
type latencyConfig struct {
	on    bool
	cases string // RTT=SIZE,...
	base  string // another shoal binary to time beside (before/after)
}

// latencyFlags registers the latency mode's flags on fs.
func latencyFlags(fs *flag.FlagSet) *latencyConfig {
	lc := &latencyConfig{}
	fs.BoolVar(&lc.on, "latency", false, "run the latency benchmark instead: 1 -> 1 through a delaying proxy")
	fs.StringVar(&lc.cases, "latency-cases", "50ms=64MiB,100ms=64MiB,200ms=256MiB", "round trips and file sizes, RTT=SIZE,...")
	fs.StringVar(&lc.base, "shoal-base", "", "another shoal binary, timed beside as shoal-base (a before/after comparison)")
	return lc
}

// latencyCase is one round trip and the size moved at it.
type latencyCase struct {
	rtt  time.Duration
	size int64
}

func parseLatencyCases(s string) ([]latencyCase, error) {
	var cs []latencyCase
	for _, f := range strings.Split(s, ",") {
		rtt, size, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return nil, fmt.Errorf("latency case %q: want RTT=SIZE", f)
		}
		d, err := time.ParseDuration(rtt)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("latency case %q: bad round trip", f)
		}
		n, err := parseSize(size)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("latency case %q: bad size", f)
		}
		cs = append(cs, latencyCase{d, n})
	}
	return cs, nil
}

// namedImpl is an impl under another name (a second shoal build).
type namedImpl struct {
	impl
	label string
}

func (n namedImpl) name() string { return n.label }

func isNamed(im impl) bool { _, ok := im.(namedImpl); return ok }

// latencyImpls are the clients of the run (shoal, a second shoal build
// when asked, and the contract peers of the TCP rows); missing says why
// one is left out.
func latencyImpls(c config, lc latencyConfig) (impls []impl, missing map[string]string) {
	missing = map[string]string{}
	impls = []impl{shoalImpl{bin: c.shoal}}
	if lc.base != "" {
		impls = append(impls, namedImpl{shoalImpl{bin: lc.base}, "shoal-base"})
	}
	for _, cand := range tcpCandidates(c)[1:] {
		if cand.skipped != "" {
			missing[cand.im.name()] = cand.skipped
			continue
		}
		impls = append(impls, cand.im)
	}
	return impls, missing
}

// runLatency times every client at every case, c.runs times in rotating
// order, after an untimed warm-up each, and prints the medians with
// shoal's time over the best anchor's.
func runLatency(c config, lc latencyConfig) error {
	cases, err := parseLatencyCases(lc.cases)
	if err != nil {
		return err
	}
	work := c.work
	if work == "" {
		d, remove, err := benchkit.WorkDir("latencybench-")
		if err != nil {
			return err
		}
		defer remove()
		work = d
	}
	impls, missing := latencyImpls(c, lc)
	tors := map[int64]string{}
	for _, lcase := range cases {
		if _, ok := tors[lcase.size]; ok {
			continue
		}
		src := filepath.Join(work, "src-"+strconv.FormatInt(lcase.size, 10))
		tor, err := makeTorrent(filepath.Join(src, "big.bin"), filepath.Join(work, strconv.FormatInt(lcase.size, 10)+".torrent"), lcase.size, c.piece)
		if err != nil {
			return err
		}
		tors[lcase.size] = tor
	}
	srcOf := func(size int64) string { return filepath.Join(work, "src-"+strconv.FormatInt(size, 10)) }
	dl := filepath.Join(work, "dl")
	first := cases[0]
	for _, im := range impls {
		if _, err := latencyTransfer(c, im, tors[first.size], srcOf(first.size), dl, 0, first.size); err != nil {
			return fmt.Errorf("%s warm-up: %w", im.name(), err)
		}
	}
	fmt.Printf("\n1 seeder -> 1 leecher through a delaying proxy, pieces of %s, median of %d runs\n",
		humanize.IBytes(uint64(c.piece)), c.runs)
	for _, lcase := range cases {
		times := map[string][]time.Duration{}
		for r := 0; r < c.runs; r++ {
			for k := range impls {
				im := impls[(k+r)%len(impls)] // rotate who goes first
				d, err := latencyTransfer(c, im, tors[lcase.size], srcOf(lcase.size), dl, lcase.rtt, lcase.size)
				if err != nil {
					return fmt.Errorf("%s at RTT %v run %d: %w", im.name(), lcase.rtt, r+1, err)
				}
				times[im.name()] = append(times[im.name()], d)
			}
		}
		printLatencyCase(lcase, impls, missing, times)
	}
	return nil
}

func printLatencyCase(lcase latencyCase, impls []impl, missing map[string]string, times map[string][]time.Duration) {
	fmt.Printf("\nRTT %v, %s\n", lcase.rtt, humanize.IBytes(uint64(lcase.size)))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "impl\tmedian\tMiB/s\truns\t")
	var best time.Duration
	var bestName string
	for _, im := range impls {
		ts := times[im.name()]
		m := medianDuration(ts)
		var runs []string
		for _, t := range ts {
			runs = append(runs, t.Round(10*time.Millisecond).String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t\n", im.name(), m.Round(10*time.Millisecond), mibps(lcase.size, m), strings.Join(runs, " "))
		if _, ours := im.(shoalImpl); !ours && !isNamed(im) && (best == 0 || m < best) {
			best, bestName = m, im.name()
		}
	}
	for _, name := range slices.Sorted(maps.Keys(missing)) {
		fmt.Fprintf(tw, "%s\tskipped\t\t%s\t\n", name, missing[name])
	}
	tw.Flush()
	if best > 0 {
		s := medianDuration(times["shoal"])
		verdict := "met"
		if s > best {
			verdict = "NOT met"
		}
		fmt.Printf("shoal / best anchor (%s): %.2f (target <= 1: %s)\n", bestName, float64(s)/float64(best), verdict)
	}
}

func medianDuration(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

// latencyTransfer moves the torrent from a seeder to a leecher of im that
// reach each other only through a proxy with the given round trip, and
// returns the leecher's time from its listening line to its done line
// (it then seeds on until stopped), as transfer times the 1 -> 1 rows.
func latencyTransfer(c config, im impl, tor, src, dl string, rtt time.Duration, size int64) (time.Duration, error) {
	os.RemoveAll(dl)
	defer os.RemoveAll(dl)
	seeder, port, err := startSeeder(im, tor, src)
	if err != nil {
		return 0, err
	}
	defer stopSeeder(seeder)
	proxy, err := delayproxy.Listen(delayproxy.DefaultConfig(fmt.Sprintf("127.0.0.1:%d", port), rtt/2), slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer proxy.Close()
	lport, err := freePort()
	if err != nil {
		return 0, err
	}
	leech, err := startLeecher(im, im.leecher(tor, dl, lport, []string{proxy.Addr()}, filepath.Join(dl, ".state")), 0)
	if err != nil {
		return 0, err
	}
	if err := leech.await(c.timeout); err != nil {
		return 0, fmt.Errorf("leecher: %w", err)
	}
	// The same window as the 1 -> 1 rows: listening line to done line.
	wall := leech.done.at.Sub(leech.listening.at)
	if err := leech.stop(); err != nil {
		return 0, fmt.Errorf("leecher: %w", err)
	}
	if got := proxy.Delivered(); got < size {
		return 0, fmt.Errorf("only %d bytes went through the proxy for a %d-byte torrent: the peers met some other way", got, size)
	}
	var total int64
	filepath.Walk(dl, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.Contains(path, string(filepath.Separator)+".") {
			total += fi.Size()
		}
		return nil
	})
	if total < size {
		return 0, errors.New("the leecher finished without the whole file")
	}
	return wall, nil
}
