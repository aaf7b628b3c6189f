package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// peerImpl runs a program that speaks the bench-peer contract (the
// command line of cmd/anacrolix-peer): bin/anacrolix-peer,
// bin/anacrolix162-peer or bench/ltpeer.py under /usr/bin/python3.
type peerImpl struct {
	label string
	argv  []string // the program and any arguments before the contract's
	utp   bool
}

func (p peerImpl) name() string { return p.label }

func (p peerImpl) command(args ...string) *exec.Cmd {
	if p.utp {
		args = append(args, "-utp")
	}
	return exec.Command(p.argv[0], append(p.argv[1:len(p.argv):len(p.argv)], args...)...)
}

func (p peerImpl) seeder(tor, dir string, port int) *exec.Cmd {
	return p.command("-torrent", tor, "-dir", dir, "-seed", "-port", strconv.Itoa(port))
}

func (p peerImpl) leecher(tor, dir string, port int, peers []string, state string) *exec.Cmd {
	return p.command("-torrent", tor, "-dir", dir, "-port", strconv.Itoa(port), "-peers", strings.Join(peers, ","))
}

func (peerImpl) ready(line string) bool     { return strings.HasPrefix(line, "ready ") }
func (peerImpl) listening(line string) bool { return strings.HasPrefix(line, "listening ") }
func (peerImpl) done(line string) bool      { return line == "done" }

// candidate is an implementation the benchmark would like to run, or why
// it cannot: a missing peer is a "skipped" row, not a failed benchmark.
type candidate struct {
	im      impl
	skipped string // "" when im can run
}

// anchors are the strongest other clients, which the 1 -> 1 ratios are
// taken against (issue 14): whichever is faster in the same run.
var anchors = []string{anacrolix162Name, libtorrentName}

const (
	anacrolix162Name = "anacrolix-v1.62.0"
	libtorrentName   = "libtorrent-2.0.8"
)

// tcpCandidates are every client of the TCP rows, shoal first.
func tcpCandidates(c config) []candidate {
	a162 := candidate{im: peerImpl{label: anacrolix162Name, argv: []string{c.anacrolix162}}}
	if _, err := os.Stat(c.anacrolix162); err != nil {
		a162.skipped = fmt.Sprintf("%s not built (make bench builds it from bench/anacrolix162)", c.anacrolix162)
	}
	lt := candidate{im: peerImpl{label: libtorrentName, argv: []string{c.python, c.ltpeer}}}
	if err := checkLibtorrent(c.python, c.ltpeer); err != nil {
		lt.skipped = err.Error()
	}
	return []candidate{
		{im: shoalImpl{bin: c.shoal}},
		{im: anacrolixImpl{bin: c.anacrolix}},
		a162,
		lt,
	}
}

// checkLibtorrent says why python cannot run the libtorrent peer, if it
// cannot: Debian's python3-libtorrent is for /usr/bin/python3 only.
func checkLibtorrent(python, script string) error {
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("%s: %w", script, err)
	}
	out, err := exec.Command(python, "-c", "import libtorrent; print(libtorrent.__version__)").CombinedOutput()
	if err != nil {
		why := err.Error()
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); lines[len(lines)-1] != "" {
			why = lines[len(lines)-1] // Python's own last word, "No module named ..."
		}
		return fmt.Errorf("%s cannot import libtorrent (apt-get install python3-libtorrent): %s", python, why)
	}
	if v := string(bytes.TrimSpace(out)); !strings.HasPrefix(v, "2.0.8") {
		fmt.Fprintf(os.Stderr, "swarmbench: note: libtorrent is %s, not 2.0.8; its rows keep the 2.0.8 label\n", v)
	}
	return nil
}

// warmUp runs one unmeasured transfer of each candidate that can run: the
// first writes after the file is generated find the kernel short of free
// pages, and whoever went first would pay for it. An anchor that fails
// here is skipped with the reason; shoal failing fails the benchmark.
func warmUp(c config, cands []candidate, tor, src, dl string) ([]candidate, error) {
	for i, cd := range cands {
		if cd.skipped != "" {
			continue
		}
		if _, err := transfer(c, cd.im, tor, src, dl); err != nil {
			if i == 0 {
				return nil, fmt.Errorf("%s warm-up: %w", cd.im.name(), err)
			}
			cands[i].skipped = "warm-up failed: " + err.Error()
		}
	}
	return cands, nil
}

// runnable are the candidates that were not skipped.
func runnable(cands []candidate) []impl {
	var out []impl
	for _, cd := range cands {
		if cd.skipped == "" {
			out = append(out, cd.im)
		}
	}
	return out
}

// printSkipped prints a row for each candidate that did not run.
func printSkipped(cands []candidate) {
	for _, cd := range cands {
		if cd.skipped != "" {
			fmt.Printf("  %-18s skipped: %s\n", cd.im.name(), cd.skipped)
		}
	}
}

// errNoAnchor is why no headline ratio is printed.
var errNoAnchor = errors.New("no anchor ran")

// fastestAnchor is the anchor with the shortest median wall time.
func fastestAnchor(med map[string]result) (string, result, error) {
	best := ""
	for _, a := range anchors {
		if r, ok := med[a]; ok && (best == "" || r.wall < med[best].wall) {
			best = a
		}
	}
	if best == "" {
		return "", result{}, errNoAnchor
	}
	return best, med[best], nil
}
