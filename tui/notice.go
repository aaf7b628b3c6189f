package tui

import (
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// noticeFor is how long a completion notice stays on the status line.
const noticeFor = 5 * time.Second

// WithBell rings the terminal bell on w when a torrent finishes
// downloading; without it (--no-bell) the UI stays silent. w is the
// terminal the UI draws on: a bell is one byte that may fall between two
// frames without harm.
func (m Model) WithBell(w io.Writer) Model {
	m.bell = w
	return m
}

// done says whether a snapshot shows a torrent with nothing left to get.
func done(s *swarm.Snapshot) bool {
	return s.State == swarm.StateSeeding || s.NumPieces > 0 && s.Left == 0 && s.State != swarm.StateChecking
}

// notice finds the torrents that finished downloading since the last
// snapshots: seen downloading then, done now. A torrent already complete
// when the UI opened, or one resumed after a pause, finished nothing.
func (m Model) notice(items []Item) (Model, tea.Cmd) {
	var finished []string
	seen := make(map[string]swarm.State, len(items))
	for _, it := range items {
		if it.Snap == nil {
			continue
		}
		k := itemKey(it)
		seen[k] = it.Snap.State
		if m.lastState[k] == swarm.StateDownloading && done(it.Snap) {
			finished = append(finished, it.Label)
		}
	}
	m.lastState = seen
	if len(finished) == 0 {
		if m.noticeLeft > 0 {
			m.noticeLeft--
		}
		return m, nil
	}
	m.noticeText = safe(finished[0]) + " finished downloading"
	if len(finished) > 1 {
		m.noticeText = safe(finished[0]) + " and " + plural(len(finished)-1, "other torrent") + " finished downloading"
	}
	m.noticeLeft = max(int(noticeFor/max(m.interval, time.Millisecond)), 1)
	if m.bell == nil {
		return m, nil
	}
	w := m.bell
	return m, func() tea.Msg {
		w.Write([]byte("\a"))
		return nil
	}
}
