package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/shoal-torrent/shoal/swarm"
)

// Peer rate histories: each peer's rates from successive snapshots, for
// the peer pane's graphs. peerHistoryLen samples (a minute at the usual
// half-second poll) for at most maxPeerHistories peers, the selected
// torrent's first, so a daemon with thousands of peers costs megabytes.
const (
	peerHistoryLen   = 120
	maxPeerHistories = 2000
)

// peerRates are one peer's recent rates, oldest first.
type peerRates struct{ down, up []float64 }

func peerKey(it Item, addr string) string { return itemKey(it) + " " + addr }

// recordPeers appends each connected peer's rates to its history and
// forgets the peers that are gone.
func (m Model) recordPeers(items []Item) Model {
	next := make(map[string]peerRates, len(m.peerHist))
	add := func(it Item) {
		if it.Snap == nil {
			return
		}
		for _, p := range it.Snap.Peers {
			if len(next) >= maxPeerHistories {
				return
			}
			k := peerKey(it, p.Addr)
			if _, dup := next[k]; dup {
				continue
			}
			h := m.peerHist[k]
			next[k] = peerRates{down: appendBounded(h.down, p.DownRate, peerHistoryLen), up: appendBounded(h.up, p.UpRate, peerHistoryLen)}
		}
	}
	sel := m.selKey
	for _, it := range items {
		if itemKey(it) == sel {
			add(it)
		}
	}
	for _, it := range items {
		add(it)
	}
	m.peerHist = next
	return m
}

// appendBounded appends v, keeping the last n values in a fresh slice
// (snapshots of the model share nothing they later change).
func appendBounded(h []float64, v float64, n int) []float64 {
	out := make([]float64, 0, min(len(h)+1, n))
	if len(h)+1 > n {
		h = h[len(h)+1-n:]
	}
	return append(append(out, h...), v)
}

// spark draws values as one row of eighth blocks scaled to top, the
// newest at the right; zero is drawn as nothing, a trickle as the
// lowest block.
func spark(h []float64, width int, top float64) string {
	if width <= 0 {
		return ""
	}
	if len(h) > width {
		h = h[len(h)-width:]
	}
	levels := []rune(" ▁▂▃▄▅▆▇█")
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(h)))
	for _, v := range h {
		i := 0
		if top > 0 && v > 0 {
			i = min(max(int(v/top*8+0.5), 1), 8)
		}
		b.WriteRune(levels[i])
	}
	return b.String()
}

// peerRateLines graph the selected peer's rates over time: its current
// rate, its peak (the graph's top) and what it moved, then the graph,
// newest at the right, and the span it covers ("last 45s").
func (m Model) peerRateLines(it Item, p swarm.PeerSnapshot, w int) []string {
	h := m.peerHist[peerKey(it, p.Addr)]
	span := "last " + etaShort(time.Duration(max(len(h.down), 1))*m.interval)
	row := func(arrow string, cur float64, hist []float64, total int64, verb string, st lipgloss.Style, last string) string {
		top := cur
		for _, v := range hist {
			top = max(top, v)
		}
		head := arrow + " " + fit(rate(cur), 10, true, false) + m.th.faint.Render(" peak ") + fit(rate(top), 10, true, false) +
			" " + fit(verb+" "+size(total), 16, false, false) + " "
		room := w - ansi.StringWidth(head) - ansi.StringWidth(last) - 1
		if room < 8 {
			return head
		}
		return head + st.Render(spark(hist, room, top)) + " " + m.th.faint.Render(last)
	}
	return []string{
		row("↓", p.DownRate, h.down, p.Downloaded, "received", m.th.good, span),
		row("↑", p.UpRate, h.up, p.Uploaded, "sent", m.th.up, strings.Repeat(" ", len(span))),
	}
}
