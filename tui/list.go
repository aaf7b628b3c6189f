package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Screen geometry: a header line and a status line on top, a footer line
// below; the rest is the screen's body.
const (
	chromeLines = 3
	// detailLines are the detail view's name, numbers and tab lines.
	detailLines = 3
	// peerPaneLines show the selected peer under the peer list.
	peerPaneLines = 7
	// trackerPaneLines show the selected tracker's full URL and error.
	trackerPaneLines = 3
)

// bodyLines is the height of the part between the chrome.
func (m Model) bodyLines() int { return max(m.height-chromeLines, 2) }

// tabLines is the height a detail tab has.
func (m Model) tabLines() int { return max(m.bodyLines()-detailLines, 2) }

// peerPane reports whether the selected peer's details fit below the list.
func (m Model) peerPane() bool { return m.tabLines() >= 14 }

// listRows is how many rows of the current list fit on screen.
func (m Model) listRows() int {
	switch {
	case !m.detail:
		return max(m.bodyLines()-1, 1)
	case m.tab == tabPeers:
		if m.peerPane() {
			return max(m.tabLines()-1-peerPaneLines, 1)
		}
		return max(m.tabLines()-1, 1)
	case m.tab == tabFiles:
		return max(m.tabLines()-2, 1)
	case m.tab == tabTrackers:
		return max(m.tabLines()-1-trackerPaneLines, 1)
	}
	return 1
}

// listSorts are the orders s cycles through on the list: first the
// engine's own (the daemon's queue; for get and seed, the command
// line's), last the newest added first.
var listSorts = []struct {
	name string
	cmp  func(a, b Item) int
}{
	{"start order", nil},
	{"name", func(a, b Item) int {
		return strings.Compare(strings.ToLower(a.Snap.Name), strings.ToLower(b.Snap.Name))
	}},
	{"progress", func(a, b Item) int { return cmp.Compare(b.Snap.Progress, a.Snap.Progress) }},
	{"down rate", func(a, b Item) int { return cmp.Compare(b.Snap.DownRate, a.Snap.DownRate) }},
	{"up rate", func(a, b Item) int { return cmp.Compare(b.Snap.UpRate, a.Snap.UpRate) }},
	{"ratio", func(a, b Item) int { return cmp.Compare(b.Snap.Ratio, a.Snap.Ratio) }},
	{"size", func(a, b Item) int { return cmp.Compare(b.Snap.Size, a.Snap.Size) }},
	{"added, newest first", func(a, b Item) int { return b.Added.Compare(a.Added) }},
}

// settle brings everything derived from the items and the terminal size
// up to date after a message: the list's order, every cursor inside its
// list and every window around its cursor.
func (m Model) settle() Model {
	m.order = m.order[:0:0]
	f := strings.ToLower(m.filter)
	for i, it := range m.items {
		if it.Snap == nil {
			continue
		}
		if f != "" && !strings.Contains(strings.ToLower(it.Label), f) && !strings.Contains(strings.ToLower(it.Snap.Name), f) {
			continue
		}
		m.order = append(m.order, i)
	}
	if c := listSorts[m.listSort].cmp; c != nil {
		slices.SortStableFunc(m.order, func(a, b int) int { return c(m.items[a], m.items[b]) })
	}
	if m.selKey != "" {
		for c, i := range m.order {
			if itemKey(m.items[i]) == m.selKey {
				m.torrents.cursor = c
			}
		}
	}
	rows := max(m.bodyLines()-1, 1)
	m.torrents = m.torrents.clamp(len(m.order), rows)
	if c := m.torrents.cursor; c < len(m.order) {
		m.selKey = itemKey(m.items[m.order[c]])
	}
	if m.detail && m.selected() == nil {
		m.detail = false
	}
	s := m.selected()
	if s == nil {
		return m
	}
	peers := m.sortedPeers(s.Snap)
	if m.peerAddr != "" {
		for i, p := range peers {
			if p.Addr == m.peerAddr {
				m.peers.cursor = i
			}
		}
	}
	saved := m.tab
	m.tab = tabPeers
	m.peers = m.peers.clamp(len(peers), m.listRows())
	if m.peers.cursor < len(peers) {
		m.peerAddr = peers[m.peers.cursor].Addr
	}
	m.tab = tabFiles
	m.files = m.files.clamp(len(s.Snap.Files), m.listRows())
	m.tab = tabTrackers
	m.trackers = m.trackers.clamp(len(s.Snap.Trackers), m.listRows())
	m.tab = saved
	return m
}

// List columns, in the order they appear.
const (
	lcName = iota
	lcState
	lcProgress
	lcDone
	lcDown
	lcUp
	lcRatio
	lcPeers
	lcETA
)

// listTable lays out the torrent list. As the terminal narrows it first
// narrows and then drops the progress bar (keeping the percentage), then the downloaded
// half of DONE/SIZE, then RATIO (the detail header has it), then ETA,
// UP, STATE and PEERS; NAME takes the rest, at least 14 cells.
var listTable = table{
	cols: []column{
		{title: "NAME", flex: true, flexMin: 14},
		{title: "STATE", widths: []int{11}},
		{title: "PROGRESS", short: "DONE", widths: []int{27, 17, 6}},
		{title: "DONE/SIZE", short: "SIZE", widths: []int{17, 8}, right: true},
		{title: "DOWN", widths: []int{10}, right: true},
		{title: "UP", widths: []int{10}, right: true},
		{title: "RATIO", widths: []int{5}, right: true},
		{title: "PEERS", widths: []int{8}, right: true},
		{title: "ETA", widths: []int{4}, right: true},
	},
	steps: []step{lcProgress, lcProgress, lcDone, lcRatio, lcETA, lcUp, lcState, lcPeers},
}

func (m Model) viewList() string {
	var b strings.Builder
	widths := listTable.layout(m.width)
	b.WriteString(listTable.header(m.th, widths) + "\n")
	if len(m.order) == 0 {
		if m.filter != "" {
			b.WriteString(m.th.faint.Render(" no torrent matches the filter; esc clears it") + "\n")
		} else {
			b.WriteString(m.th.faint.Render(" no torrents yet") + "\n")
		}
		return b.String()
	}
	lo, hi := m.torrents.window(len(m.order), m.listRows())
	for c := lo; c < hi; c++ {
		it := m.items[m.order[c]]
		s := it.Snap
		st := m.pending.state(it)
		cells := []cell{
			txt(safe(it.Label)),
			txt(string(st)).style(m.stateStyle(st)),
			m.barCell(s.Progress),
			{text: func(w int) string {
				if w < 17 {
					return size(s.Size)
				}
				return size(s.Size-s.Left) + "/" + size(s.Size)
			}},
			txt(rate(s.DownRate)),
			txt(rate(s.UpRate)),
			txt(fmtRatio(s.Ratio)),
			txt(peersText(len(s.Peers), s.Seeds)),
			txt(etaShort(s.ETA)),
		}
		b.WriteString(listTable.row(m.th, widths, cells, c == m.torrents.cursor) + "\n")
	}
	return b.String()
}

// barCell is a progress bar with its percentage, or the percentage alone
// when the column is narrow.
func (m Model) barCell(frac float64) cell {
	return cell{
		text: func(w int) string {
			p := fit(pct(frac), 6, true, false)
			bw := w - 1 - len(p)
			if bw < 4 {
				return p
			}
			filled := min(max(int(frac*float64(bw)), 0), bw)
			return strings.Repeat("█", filled) + strings.Repeat("░", bw-filled) + " " + p
		},
		paint: func(s string) string {
			st := m.th.warn
			if frac >= 1 {
				st = m.th.good
			}
			full := strings.Count(s, "█")
			empty := strings.Count(s, "░")
			if full+empty == 0 {
				return s
			}
			rest := strings.TrimLeft(s, "█░")
			return st.Render(strings.Repeat("█", full)) + m.th.faint.Render(strings.Repeat("░", empty)) + rest
		},
	}
}

func fmtRatio(r float64) string {
	if r >= 100 {
		return "99+"
	}
	return fmt.Sprintf("%.2f", r)
}
