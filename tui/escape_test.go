package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// evil is what a hostile torrent, peer or tracker puts in the text the UI
// shows: an OSC 52 clipboard write and a newline that forges a line.
const evil = "x\x1b]52;c;cHduZWQ=\x07\nFORGED"

func TestViewEscapesHostileText(t *testing.T) {
	s := snapshot(evil, swarm.StateDownloading, 0.5)
	s.Peers[0].Client = evil
	s.Trackers[0].URL = evil
	s.Trackers[0].LastError = evil
	s.Files[0].Path = evil
	eng := &fakeEngine{items: []Item{{Label: evil, Snap: s}}}
	m := update(t, New(eng, time.Second), tea.WindowSizeMsg{Width: 200, Height: 40}, ItemsMsg(eng.Items()))
	views := map[string]string{"list": m.View()}
	views["confirm"] = update(t, m, keyMsg("x")).View()
	m = update(t, m, keyMsg("enter"))
	for _, tab := range tabNames {
		views[tab] = m.View()
		m = update(t, m, keyMsg("tab"))
	}
	for name, v := range views {
		if strings.ContainsAny(v, "\x07\x9b") || strings.Contains(v, "\x1b]") {
			t.Errorf("%s view holds a raw control sequence: %q", name, v)
		}
		for _, l := range strings.Split(v, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "FORGED") {
				t.Errorf("%s view has a forged line: %q", name, v)
			}
		}
		if !strings.Contains(v, `x\x1b]52`) {
			t.Errorf("%s view does not show the escaped text:\n%s", name, v)
		}
	}
}

func TestTrackerViewEscapesHostileStats(t *testing.T) {
	m := NewTracker("http://127.0.0.1:1/"+evil, nil, time.Second)
	next, _ := m.Update(TrackerMsg{Stats: TrackerStats{Torrents: 1, Swarms: []TrackerSwarm{{InfoHash: evil}}}, Err: errors.New(evil)})
	v := next.View()
	if strings.ContainsAny(v, "\x07\x9b") || strings.Contains(v, "\x1b]") {
		t.Fatalf("tracker view holds a raw control sequence: %q", v)
	}
	if !strings.Contains(v, `x\x1b]52`) {
		t.Fatalf("tracker view does not show the escaped text:\n%s", v)
	}
}
