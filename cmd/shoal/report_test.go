package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm"
)

var reportAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func seedingSnap(name string) *swarm.Snapshot {
	return &swarm.Snapshot{Name: name, InfoHash: "ih-" + name, State: swarm.StateSeeding, Size: 1 << 20, Progress: 1, NumPieces: 16, Have: 16}
}

// TestPipedProgressOnlyWhenChanged: a quiet seed piped to a log prints a
// line a minute, not one every 5 s; a change shows within 5 s; several
// torrents get a line each.
func TestPipedProgressOnlyWhenChanged(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(env{stdout: &out, stderr: &out}, false)
	a, b := seedingSnap("alpha"), seedingSnap("beta")
	for s := 0; s <= 180; s++ {
		if s == 30 {
			b = seedingSnap("beta")
			b.Peers = []swarm.PeerSnapshot{{Addr: "127.0.0.1:1"}} // a peer came
		}
		r.progress([]*swarm.Snapshot{a, b}, reportAt.Add(time.Duration(s)*time.Second))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var alpha, beta int
	for _, l := range lines {
		if strings.Contains(l, "|") {
			t.Fatalf("torrents joined on one line: %q", l)
		}
		switch {
		case strings.HasPrefix(l, "alpha "):
			alpha++
		case strings.HasPrefix(l, "beta "):
			beta++
		}
	}
	// alpha: at 0, 60, 120, 180 s; beta: 0, 30 (the peer), 90, 150.
	if alpha != 4 || beta != 4 || len(lines) != 8 {
		t.Fatalf("alpha %d lines, beta %d (want 4 each) in 3 minutes:\n%s", alpha, beta, out.String())
	}
	if !strings.Contains(lines[2], "beta") || !strings.Contains(lines[2], "1 peer") {
		t.Fatalf("the change at 30 s is not the third line:\n%s", out.String())
	}
}

// TestPlainTrackerErrorsInWords: --no-tui says when a tracker fails, in
// the UI's words, once, and when it answers again.
func TestPlainTrackerErrorsInWords(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(env{stdout: &out, stderr: &out}, false)
	s := seedingSnap("alpha")
	s.Trackers = []swarm.TrackerSnapshot{{URL: "http://127.0.0.1:6969/announce",
		LastError: `Get "http://127.0.0.1:6969/announce?info_hash=x": context deadline exceeded`}}
	for i := range 10 {
		r.progress([]*swarm.Snapshot{s}, reportAt.Add(time.Duration(i)*time.Second))
	}
	got := out.String()
	if strings.Count(got, "no answer (timed out)") != 1 || strings.Contains(got, "deadline") {
		t.Fatalf("tracker error not told once in words:\n%s", got)
	}
	if !strings.Contains(got, "alpha: tracker http://127.0.0.1:6969/announce: no answer (timed out)") {
		t.Fatalf("tracker error does not name the torrent and tracker:\n%s", got)
	}
	ok := seedingSnap("alpha")
	ok.Trackers = []swarm.TrackerSnapshot{{URL: "http://127.0.0.1:6969/announce", Status: "working"}}
	r.progress([]*swarm.Snapshot{ok}, reportAt.Add(20*time.Second))
	if !strings.Contains(out.String(), "tracker http://127.0.0.1:6969/announce answers again") {
		t.Fatalf("recovery not told:\n%s", out.String())
	}
}

// TestBansAreTold: a peer banned for bad data is told once as a line
// (or a peer_banned event), not only as a log line: the person sees why
// a peer went.
func TestBansAreTold(t *testing.T) {
	for _, json := range []bool{false, true} {
		var out bytes.Buffer
		r := newReporter(env{stdout: &out, stderr: &out}, json)
		s := seedingSnap("alpha")
		r.progress([]*swarm.Snapshot{s}, reportAt)
		for i := range 3 {
			s.Banned = 1
			r.progress([]*swarm.Snapshot{s}, reportAt.Add(time.Duration(i+1)*time.Second))
		}
		s.Banned = 3
		r.progress([]*swarm.Snapshot{s}, reportAt.Add(5*time.Second))
		want := []string{"alpha: banned 1 peer for sending data that failed the hash check (1 so far)",
			"alpha: banned 2 peers for sending data that failed the hash check (3 so far)"}
		if json {
			want = []string{`"banned":1,"event":"peer_banned"`, `"banned":3,"event":"peer_banned"`}
		}
		for _, w := range want {
			if strings.Count(out.String(), w) != 1 {
				t.Fatalf("json %v: want %q once in:\n%s", json, w, out.String())
			}
		}
	}
}

// TestJSONEventsNameTheTorrent: every event carries info_hash, rates are
// whole numbers, eta_seconds is null when unknown and 0 when done.
func TestJSONEventsNameTheTorrent(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(env{stdout: &out, stderr: &out}, true)
	r.event("started", map[string]any{"name": "alpha", "info_hash": "ih-alpha"}, "")
	r.event("listening", map[string]any{"port": 6881}, "")
	dl := &swarm.Snapshot{Name: "alpha", InfoHash: "ih-alpha", State: swarm.StateDownloading, Size: 100, Left: 50, DownRate: 1234.6}
	r.progress([]*swarm.Snapshot{dl}, reportAt)
	eta := *dl
	eta.ETA = 90 * time.Second
	r.progress([]*swarm.Snapshot{&eta}, reportAt)
	r.progress([]*swarm.Snapshot{seedingSnap("alpha")}, reportAt)
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["info_hash"] != "ih-alpha" {
			t.Errorf("%s event without the torrent's info_hash: %s", ev["event"], l)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 5 {
		t.Fatalf("%d events:\n%s", len(evs), out.String())
	}
	if !strings.Contains(out.String(), `"down_rate":1235,`) {
		t.Errorf("rate not a whole number:\n%s", out.String())
	}
	if v, ok := evs[2]["eta_seconds"]; !ok || v != nil {
		t.Errorf("unknown ETA is %v, want null", v)
	}
	if evs[3]["eta_seconds"] != 90.0 || evs[4]["eta_seconds"] != 0.0 {
		t.Errorf("eta_seconds %v while downloading, %v when done; want 90 and 0", evs[3]["eta_seconds"], evs[4]["eta_seconds"])
	}
}

func TestDownloadResultSummary(t *testing.T) {
	d := downloadResult{name: "pack", path: "/data/pack", size: 4 << 20, downloaded: 4 << 20, took: 2 * time.Second}
	got := strings.Join(d.lines(), "\n")
	for _, want := range []string{"Download results:", "pack: 4.0 MiB in 2s, 2.0 MiB/s on average", "saved in /data/pack"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	// A fast one is not "in 0s".
	for took, want := range map[time.Duration]string{20 * time.Millisecond: " in 20ms,", 300 * time.Microsecond: " in 1ms,", 41 * time.Second: " in 41s,"} {
		d.took = took
		if got := strings.Join(d.lines(), "\n"); !strings.Contains(got, want) {
			t.Errorf("took %v: summary lacks %q:\n%s", took, want, got)
		}
	}
}

// TestBellOnlyOnATerminal: --no-tui on a terminal rings at completion
// unless --no-bell; piped or JSON output never gets a BEL.
func TestBellOnlyOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		name              string
		interactive, json bool
		bell              bool
		want              string
	}{
		{"terminal", true, false, true, "\a"},
		{"--no-bell", true, false, false, ""},
		{"piped", false, false, true, ""},
		{"json", true, true, true, ""},
	} {
		var stdout, stderr bytes.Buffer
		r := newReporter(env{stdout: &stdout, stderr: &stderr, interactive: tc.interactive}, tc.json)
		r.bell = tc.bell
		r.ring()
		if got := stdout.String() + stderr.String(); got != tc.want {
			t.Errorf("%s: rang %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, sub := range []string{"get", "seed", "watch"} {
		if _, stdout, _ := shoal(t, sub, "--help"); !strings.Contains(stdout, "--no-bell") {
			t.Errorf("shoal %s has no --no-bell", sub)
		}
	}
}
