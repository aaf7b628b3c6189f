package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/internal/termsafe"
)

// safe escapes text that came from a torrent, a peer or a tracker, so
// it cannot drive the terminal; see termsafe.
func safe(s string) string { return termsafe.String(s) }

func size(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

func rate(r float64) string { return humanize.IBytes(uint64(max(r, 0))) + "/s" }

func limitText(l int64) string {
	if l <= 0 {
		return "unlimited"
	}
	return rate(float64(l))
}

// compactMagnitudes give go-humanize's relative times in a column's few
// cells: 42s, 3m, 5h, 2d.
var compactMagnitudes = []humanize.RelTimeMagnitude{
	{D: time.Minute, Format: "%ds", DivBy: time.Second},
	{D: time.Hour, Format: "%dm", DivBy: time.Minute},
	{D: humanize.Day, Format: "%dh", DivBy: time.Hour},
	{D: 100 * humanize.Day, Format: "%dd", DivBy: humanize.Day},
	{D: math.MaxInt64, Format: "∞", DivBy: 1},
}

// etaShort is an ETA for a list column; "-" when unknown.
func etaShort(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	var t time.Time
	return humanize.CustomRelTime(t, t.Add(d), "", "", compactMagnitudes)
}

// etaLong is an ETA in words for the detail header.
func etaLong(d time.Duration) string {
	if d <= 0 {
		return "unknown"
	}
	var t time.Time
	return strings.TrimSpace(humanize.RelTime(t, t.Add(d), "", ""))
}

// when says how far t is from now in words, the right way round for the
// future ("in 4 minutes") and the past ("2 minutes ago").
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := strings.TrimSpace(humanize.RelTime(now, t, "", ""))
	switch {
	case d == "now":
		return "now"
	case t.After(now):
		return "in " + d
	}
	return d + " ago"
}

// peersText is the PEERS column: peers connected, and in brackets how
// many of them are seeds (the `?` screen says so).
func peersText(connected, seeds int) string { return fmt.Sprintf("%d (%d)", connected, seeds) }

// pct is a progress fraction as a percentage that reaches 100 only when
// done.
func pct(frac float64) string {
	p := frac * 100
	if p < 100 && p > 99.9 {
		p = 99.9
	}
	return fmt.Sprintf("%.1f%%", p)
}

// TrackerErrorWords turns the errors Go's network stack gives into words
// a person can act on; unknown errors are shown as they came. Plain
// output uses it too, so a tracker's trouble reads the same everywhere.
func TrackerErrorWords(msg string) string {
	l := strings.ToLower(msg)
	switch {
	case msg == "":
		return ""
	case strings.Contains(l, "deadline exceeded"), strings.Contains(l, "timeout"), strings.Contains(l, "timed out"):
		return "no answer (timed out)"
	case strings.Contains(l, "connection refused"):
		return "connection refused: nothing listens there"
	case strings.Contains(l, "no such host"), strings.Contains(l, "server misbehaving"):
		return "unknown host name"
	case strings.Contains(l, "network is unreachable"), strings.Contains(l, "no route to host"):
		return "no route to the tracker"
	case strings.Contains(l, "connection reset"), strings.Contains(l, "eof"):
		return "the tracker hung up"
	case strings.Contains(l, "certificate"), strings.Contains(l, "x509"), strings.Contains(l, "tls"):
		return "bad TLS certificate"
	case strings.Contains(l, "404"):
		return "no such page (404)"
	case strings.Contains(l, "failure reason"):
		return "the tracker refused: " + msg[strings.Index(l, "failure reason"):]
	}
	return msg
}
