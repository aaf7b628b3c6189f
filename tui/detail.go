package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/shoal-torrent/shoal/swarm"
)

// stateText is a torrent's state with its reason where there is one.
func (m Model) stateText(it Item) string {
	st := m.pending.state(it)
	switch {
	case st == swarm.StateError && it.Snap.Error != "":
		return "error: " + safe(it.Snap.Error)
	case st == stateResuming:
		return "resuming…"
	case st == swarm.StatePaused:
		return "paused (p resumes)"
	case st == swarm.StateChecking:
		return "checking the data on disk"
	case st == swarm.StateDownloading && len(it.Snap.Peers) == 0:
		return "downloading: waiting for peers"
	case st == swarm.StateSeeding && len(it.Snap.Peers) == 0:
		return "seeding: no peers connected"
	}
	return string(st)
}

func (m Model) viewDetail(it *Item) string {
	s := it.Snap
	var b strings.Builder
	st := m.stateText(*it)
	stw := min(ansi.StringWidth(st), m.width*2/3)
	nameW := max(m.width-stw-3, 8)
	b.WriteString(" " + m.th.title.Render(fit(safe(it.Label), nameW, false, false)) + " " + m.stateStyle(m.pending.state(*it)).Render(fit(st, m.width-nameW-2, false, false)) + "\n")
	eta := "ETA " + etaLong(s.ETA)
	if s.State == swarm.StateSeeding {
		eta = "complete"
	}
	b.WriteString(" " + joinFit([]string{
		pct(s.Progress),
		size(s.Size-s.Left) + " of " + size(s.Size),
		"↓ " + rate(s.DownRate) + " ↑ " + rate(s.UpRate),
		eta,
		"ratio " + fmtRatio(s.Ratio),
		plural(len(s.Peers), "peer") + ", " + plural(s.Seeds, "seed"),
		fmt.Sprintf("%d pieces of %s", s.NumPieces, size(s.PieceLength)),
	}, " · ", m.width-1) + "\n")
	var tabs []string
	for i, n := range tabNames {
		if i == m.tab {
			tabs = append(tabs, m.th.tabOn.Render(n))
		} else {
			tabs = append(tabs, m.th.tabOff.Render(n))
		}
	}
	b.WriteString(" " + strings.Join(tabs, "  ") + "\n")
	switch m.tab {
	case tabPeers:
		b.WriteString(m.viewPeers(s))
	case tabPieces:
		b.WriteString(m.viewPieces(*it))
	case tabTrackers:
		b.WriteString(m.viewTrackers(s))
	case tabFiles:
		b.WriteString(m.viewFiles(*it))
	case tabSwarm:
		b.WriteString(m.viewSwarm(*it))
	}
	return b.String()
}

// trackerTable: as the terminal narrows the status shrinks, then LEECH,
// SEEDS and TIER go; the URL takes the rest.
var trackerTable = table{
	cols: []column{
		{title: "TIER", widths: []int{4}, right: true},
		{title: "URL", flex: true, flexMin: 20},
		{title: "STATUS", widths: []int{34, 20}},
		{title: "SEEDS", widths: []int{5}, right: true},
		{title: "LEECH", widths: []int{5}, right: true},
		{title: "NEXT ANNOUNCE", short: "NEXT", widths: []int{16, 12}},
	},
	steps: []step{2, 5, 4, 3, 0},
}

func lastAnnounce(t swarm.TrackerSnapshot, now time.Time) string {
	if t.LastAnnounce.IsZero() {
		return "no answer yet"
	}
	return "last answer " + when(t.LastAnnounce, now)
}

// nextAnnounce is when the tracker is asked next, never in the past.
func nextAnnounce(t swarm.TrackerSnapshot, now time.Time) string {
	switch {
	case t.NextAnnounce.IsZero():
		return "not scheduled"
	case !t.NextAnnounce.After(now):
		return "due now"
	}
	return when(t.NextAnnounce, now)
}

// trackerStatus is a tracker's state in words.
func trackerStatus(t swarm.TrackerSnapshot) string {
	if t.LastError != "" {
		return TrackerErrorWords(safe(t.LastError))
	}
	if t.Status == "" {
		return "not contacted yet"
	}
	return safe(t.Status)
}

func (m Model) viewTrackers(s *swarm.Snapshot) string {
	if len(s.Trackers) == 0 {
		return m.th.faint.Render(" no trackers (peers come from --peer, the DHT or other peers)") + "\n"
	}
	var b strings.Builder
	widths := trackerTable.layout(m.width)
	b.WriteString(trackerTable.header(m.th, widths) + "\n")
	lo, hi := m.trackers.window(len(s.Trackers), m.listRows())
	for i := lo; i < hi; i++ {
		t := s.Trackers[i]
		st := txt(trackerStatus(t))
		if t.LastError != "" {
			st = st.style(m.th.bad)
		}
		cells := []cell{txt(fmt.Sprint(t.Tier)), txt(safe(t.URL)), st, txt(fmt.Sprint(t.Seeders)), txt(fmt.Sprint(t.Leechers)),
			txt(nextAnnounce(t, s.At))}
		b.WriteString(trackerTable.row(m.th, widths, cells, i == m.trackers.cursor) + "\n")
	}
	for i := hi - lo; i < m.listRows(); i++ {
		b.WriteString("\n")
	}
	if c := m.trackers.cursor; c < len(s.Trackers) {
		t := s.Trackers[c]
		b.WriteString(" " + fit(safe(t.URL), m.width-1, false, false) + "\n")
		b.WriteString(" " + joinFit([]string{
			lastAnnounce(t, s.At),
			"next " + nextAnnounce(t, s.At),
			plural(t.PeersGot, "peer") + " in its last answer",
			fmt.Sprintf("%d seeds, %d leechers", t.Seeders, t.Leechers),
		}, " · ", m.width-1) + "\n")
		if t.LastError != "" {
			plain := TrackerErrorWords(safe(t.LastError))
			line := " " + m.th.bad.Render(plain)
			if plain != safe(t.LastError) {
				line += m.th.faint.Render(" (it said: " + safe(t.LastError) + ")")
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// fileTable: as the terminal narrows the progress bar goes (keeping the
// percentage), then SIZE; FILE takes the rest and loses its start first.
var fileTable = table{
	cols: []column{
		{title: "FILE", flex: true, flexMin: 16},
		{title: "SIZE", widths: []int{8}, right: true},
		{title: "PROGRESS", short: "DONE", widths: []int{17, 6}},
		{title: "PRIORITY", short: "PRIO", widths: []int{8, 6}},
	},
	steps: []step{2, 3, 1},
}

func (m Model) viewFiles(it Item) string {
	s := it.Snap
	var b strings.Builder
	widths := fileTable.layout(m.width)
	b.WriteString(fileTable.header(m.th, widths) + "\n")
	lo, hi := m.files.window(len(s.Files), m.listRows())
	for i := lo; i < hi; i++ {
		f := s.Files[i]
		prio := m.pending.filePriority(it, i)
		pc := txt(prio)
		switch prio {
		case "skip":
			pc = pc.style(m.th.faint)
		case "high":
			pc = pc.style(m.th.good)
		}
		path := txt(safe(f.Path))
		path.left = true
		cells := []cell{path, txt(size(f.Size)), m.barCell(f.Progress), pc}
		b.WriteString(fileTable.row(m.th, widths, cells, i == m.files.cursor) + "\n")
	}
	for i := hi - lo; i < m.listRows(); i++ {
		b.WriteString("\n")
	}
	b.WriteString(m.th.faint.Render(" f cycles the selected file's priority: normal → high → skip → normal") + "\n")
	return b.String()
}
