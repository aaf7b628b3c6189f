package tui

import (
	"strings"
	"testing"
)

// TestScreensSayWhatTheyMean checks the words and marks issue 12 asked
// for, screen by screen, at 120×40.
func TestScreensSayWhatTheyMean(t *testing.T) {
	_, m := goldenModel(t, 120, 40)
	list := m.View()
	for _, want := range []string{"↓ 17 MiB/s ↑ 5.3 MiB/s", "port 6881 open via upnp as 203.0.113.7:6881", "222 MiB/600 MiB", "37.0%", "30 (4)"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	d := update(t, m, keyMsg("j"), keyMsg("j"), keyMsg("j"), keyMsg("enter"))
	if v := d.View(); !strings.Contains(v, "error: write /data/debian.iso: no space left on device") {
		t.Errorf("the detail header does not say why the torrent failed:\n%s", v)
	}
	d = update(t, m, keyMsg("enter"))
	if v := d.View(); !strings.Contains(v, "ETA 42 seconds") || !strings.Contains(v, "ratio 0.00") {
		t.Errorf("detail header lacks ETA or ratio:\n%s", v)
	}
	pieces := update(t, d, keyMsg("tab")).View()
	// The last file (50 pieces of 600) is skipped: its pieces show "-" (in-flight ones on top),
	// not as pieces nobody has.
	if !strings.Contains(pieces, strings.Repeat("-", 12)) {
		t.Errorf("skipped pieces not drawn as skipped:\n%s", pieces)
	}
	for _, want := range []string{"the rarest on 0 peers", "median", "copies in the swarm", "600 pieces of 1.0 MiB"} {
		if !strings.Contains(pieces, want) {
			t.Errorf("piece legend lacks %q:\n%s", want, pieces)
		}
	}
	trackers := update(t, d, keyMsg("tab"), keyMsg("tab")).View()
	if !strings.Contains(trackers, "in 4 minutes") || strings.Contains(trackers, "from now") {
		t.Errorf("next announce not in plain words:\n%s", trackers)
	}
	row := fileRow(trackers, "   1 http://")
	if !strings.Contains(row, "no answer (timed out)") || strings.Contains(row, "deadline") {
		t.Errorf("tracker error not in plain words: %q", row)
	}
	swarmTab := update(t, d, keyMsg("shift+tab")).View()
	for _, want := range []string{"download", "┤", "ago", "now", "upload slots (3)", "optimistic", "by how fast they send to us", "reachability: port 6881 open"} {
		if !strings.Contains(swarmTab, want) {
			t.Errorf("swarm tab lacks %q:\n%s", want, swarmTab)
		}
	}
}

func TestPlainTrackerErrors(t *testing.T) {
	for in, want := range map[string]string{
		`Get "http://x/announce": context deadline exceeded`: "no answer (timed out)",
		"dial udp 127.0.0.1:1: connect: connection refused":  "connection refused: nothing listens there",
		"lookup tracker.invalid: no such host":               "unknown host name",
		"tracker said: something odd":                        "tracker said: something odd",
	} {
		if got := TrackerErrorWords(in); got != want {
			t.Errorf("TrackerErrorWords(%q) = %q, want %q", in, got, want)
		}
	}
	if got := when(goldenAt.Add(-90*1e9), goldenAt); got != "1 minute ago" {
		t.Errorf("past: %q", got)
	}
}
