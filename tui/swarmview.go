package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/shoal-torrent/shoal/swarm"
)

// graphAxis is the width of the graphs' scale on the left.
const graphAxis = 11

// graph draws the last samples as columns of eighth blocks, rows tall,
// with the scale (top value, in label's words, and zero) on the left and
// the time the graph spans underneath. Zero is drawn as nothing.
func (th theme) graph(h []float64, width, rows int, interval time.Duration, st lipgloss.Style, label func(float64) string) []string {
	width = max(width, 4)
	if len(h) > width {
		h = h[len(h)-width:]
	}
	top := 0.0
	for _, v := range h {
		top = max(top, v)
	}
	levels := []rune(" ▁▂▃▄▅▆▇█")
	out := make([]string, 0, rows+1)
	for r := 0; r < rows; r++ {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", width-len(h)))
		floor := float64(rows-1-r) * 8
		for _, v := range h {
			e := 0.0
			if top > 0 {
				e = v / top * float64(rows*8)
			}
			if v > 0 && e < 1 {
				e = 1 // a trickle still shows
			}
			b.WriteRune(levels[int(min(max(e-floor, 0), 8))])
		}
		text := ""
		switch r {
		case 0:
			text = label(top)
		case rows - 1:
			text = "0"
		}
		out = append(out, th.faint.Render(fit(text, graphAxis-1, true, false))+th.faint.Render("┤")+st.Render(b.String()))
	}
	span := time.Duration(len(h)) * interval
	left := "now"
	if span > 0 {
		left = etaLong(span) + " ago"
	}
	axis := fit(left, width-3, false, false) + "now"
	out = append(out, strings.Repeat(" ", graphAxis)+th.faint.Render(axis))
	return out
}

func (m Model) viewSwarm(it Item) string {
	s := it.Snap
	k := itemKey(it)
	var lines []string
	// Below the graphs: slots (a title and up to 4), DHT, network and
	// the counters.
	slots := m.slotLines(it)
	fixed := 4 + len(slots) + 3
	gh := min(max((m.tabLines()-fixed)/2, 1), 12)
	gw := m.width - graphAxis - 1
	lines = append(lines, fmt.Sprintf(" download %s", m.th.good.Render(rate(s.DownRate))))
	lines = append(lines, m.th.graph(m.down[k], gw, gh, m.interval, m.th.good, rate)...)
	lines = append(lines, fmt.Sprintf(" upload %s", m.th.up.Render(rate(s.UpRate))))
	lines = append(lines, m.th.graph(m.up[k], gw, gh, m.interval, m.th.up, rate)...)
	lines = append(lines, slots...)
	switch {
	case s.Private:
		lines = append(lines, " private torrent: peers from trackers only (no DHT, PEX or LSD)")
	case !s.DHT:
		lines = append(lines, " DHT: off")
	case s.DHTNodes > 0:
		lines = append(lines, fmt.Sprintf(" DHT: %s in the routing table", plural(s.DHTNodes, "node")))
	default:
		lines = append(lines, " DHT: joining (no nodes yet)")
	}
	if n := m.networkText(&s.Network, false); n != "" {
		lines = append(lines, " reachability: "+n)
	}
	lines = append(lines, " "+joinFit([]string{
		"downloaded " + size(s.Downloaded), "uploaded " + size(s.Uploaded), "wasted " + size(s.Wasted),
		plural(s.Violations, "protocol violation"), plural(s.HashFails, "failed piece"), fmt.Sprintf("%d banned", s.Banned),
	}, ", ", m.width-1))
	return strings.Join(lines, "\n") + "\n"
}

// slotLines say who holds the upload slots and why: the optimistic
// unchoke, and otherwise rate rank while downloading or the seeding
// rotation once complete.
func (m Model) slotLines(it Item) []string {
	s := it.Snap
	why := "by how fast they send to us"
	if s.State == swarm.StateSeeding {
		why = "by seeding rotation"
	}
	head := fmt.Sprintf(" upload slots (%d)", len(s.UploadSlots))
	if sc, ok := m.slots[itemKey(it)]; ok && !sc.at.IsZero() && !s.At.IsZero() {
		head += ", changed " + when(sc.at, s.At)
	}
	out := []string{head}
	opt := map[string]bool{}
	for _, p := range s.Peers {
		if p.Optimistic {
			opt[p.Addr] = true
		}
	}
	var items []string
	inSlot := make(map[string]bool, len(s.UploadSlots))
	for _, a := range s.UploadSlots {
		inSlot[a] = true
		if opt[a] {
			items = append(items, safe(a)+" optimistic")
		} else {
			items = append(items, safe(a)+" "+why)
		}
	}
	for _, p := range s.Peers {
		if p.Optimistic && !inSlot[p.Addr] {
			items = append(items, safe(p.Addr)+" optimistic")
		}
	}
	fl := flow(items, " · ", m.width-3)
	if len(fl) > 3 {
		shown := strings.Count(fl[0], " · ") + strings.Count(fl[1], " · ") + 2
		fl = append(fl[:2], fmt.Sprintf("and %d more", len(items)-shown))
	}
	for _, l := range fl {
		out = append(out, "   "+l)
	}
	return out
}
