package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// statusLine is the view's second line, where notices show.
func statusLine(m Model) string { return strings.Split(m.View(), "\n")[1] }

// TestCompletionNoticeAndBell: a torrent seen downloading and then done
// is named on the status line for a few seconds and rings the bell once;
// one complete from the start, or resumed after a pause, does neither.
func TestCompletionNoticeAndBell(t *testing.T) {
	var bell bytes.Buffer
	m := New(&fakeEngine{}, 500*time.Millisecond).WithBell(&bell)
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	poll := func(m Model, snaps ...*swarm.Snapshot) Model {
		var items []Item
		for _, s := range snaps {
			items = append(items, Item{Label: s.Name, Snap: s})
		}
		next, cmd := m.Update(ItemsMsg(items))
		if cmd != nil {
			cmd()
		}
		return next.(Model)
	}
	dl := snapshot("album", swarm.StateDownloading, 0.5)
	old := snapshot("old", swarm.StateSeeding, 1)
	paused := snapshot("paused", swarm.StatePaused, 1)
	m = poll(m, dl, old, paused)
	if s := statusLine(m); strings.Contains(s, "finished") || bell.Len() != 0 {
		t.Fatalf("a notice before anything finished: %q, bell %q", s, bell.String())
	}
	fin := snapshot("album", swarm.StateSeeding, 1)
	fin.Left = 0
	resumed := snapshot("paused", swarm.StateSeeding, 1)
	m = poll(m, fin, old, resumed)
	if s := statusLine(m); !strings.Contains(s, "album finished downloading") || bell.String() != "\a" {
		t.Fatalf("no notice or bell on completion: %q, bell %q", s, bell.String())
	}
	for range 9 {
		m = poll(m, fin, old, resumed)
	}
	if s := statusLine(m); !strings.Contains(s, "album finished downloading") {
		t.Fatalf("notice gone before 5 s: %q", s)
	}
	m = poll(m, fin, old, resumed)
	if s := statusLine(m); strings.Contains(s, "finished") || bell.String() != "\a" {
		t.Fatalf("notice still shown after 5 s, or the bell rang again: %q, bell %q", s, bell.String())
	}
	// Without a bell (--no-bell) the notice still shows.
	quiet := New(&fakeEngine{}, 500*time.Millisecond)
	quiet = poll(poll(quiet, dl), fin)
	if s := statusLine(quiet); !strings.Contains(s, "album finished downloading") {
		t.Fatalf("no notice without the bell: %q", s)
	}
}
