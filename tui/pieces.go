package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoal-torrent/shoal/swarm"
)

// A cell of the piece map summarises one piece or a run of them.
const (
	cellMissing = iota
	cellHave
	cellBusy
	cellSkipped
)

// skippedPieces marks the pieces that lie wholly in files set to skip,
// from the file sizes in order; nil when the files do not add up to the
// torrent (padding files the snapshot leaves out), rather than guess.
func (m Model) skippedPieces(it Item) []bool {
	s := it.Snap
	var total int64
	for _, f := range s.Files {
		total += f.Size
	}
	if total != s.Size || s.PieceLength <= 0 {
		return nil
	}
	out := make([]bool, s.NumPieces)
	for i := range out {
		out[i] = true
	}
	var off int64
	for fi, f := range s.Files {
		if f.Size > 0 && m.pending.filePriority(it, fi) != "skip" {
			first, last := off/s.PieceLength, (off+f.Size-1)/s.PieceLength
			for p := first; p <= last && p < int64(len(out)); p++ {
				out[p] = false
			}
		}
		off += f.Size
	}
	return out
}

// viewPieces draws the piece map: one cell per piece (or per run of
// pieces on a big torrent). What we have and what is in flight are drawn
// on top; a missing piece shows how many peers have it, rtorrent's 0–F
// digits by default or shaded blocks (b toggles), in a heat ramp.
func (m Model) viewPieces(it Item) string {
	s := it.Snap
	width := max(m.width-2, 10)
	rows := max(m.tabLines()-4, 1)
	n := min(len(s.Pieces), len(s.Availability))
	cells := min(n, width*rows)
	if cells == 0 {
		return m.th.faint.Render(" no pieces yet (the metadata may still be on its way)") + "\n"
	}
	skipped := m.skippedPieces(it)
	var b strings.Builder
	b.WriteByte(' ')
	for c := 0; c < cells; c++ {
		lo, hi := c*n/cells, (c+1)*n/cells
		hi = max(hi, lo+1)
		kind, avail := cellHave, 1<<30
		busy := false
		allSkipped := true
		for i := lo; i < hi; i++ {
			switch s.Pieces[i] {
			case swarm.PieceHave:
				continue
			case swarm.PieceDownloading:
				busy = true
			}
			if skipped == nil || !skipped[i] {
				allSkipped = false
				avail = min(avail, int(s.Availability[i]))
			}
			kind = cellMissing
		}
		switch {
		case kind == cellHave:
		case busy:
			kind = cellBusy
		case allSkipped:
			kind = cellSkipped
		}
		b.WriteString(m.pieceGlyph(kind, avail))
		if (c+1)%width == 0 && c+1 < cells {
			b.WriteString("\n ")
		}
	}
	b.WriteString("\n")
	b.WriteString(" " + m.pieceLegend() + "\n")
	per := "one a cell"
	if cells < n {
		per = fmt.Sprintf("about %d a cell", (n+cells/2)/cells)
	}
	stats := append(m.availabilityStats(s, skipped), fmt.Sprintf("%d pieces of %s, %s", s.NumPieces, size(s.PieceLength), per))
	fl := flow(stats, " · ", m.width-1)
	for _, l := range fl[:min(len(fl), 2)] {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

func (m Model) pieceGlyph(kind, avail int) string {
	switch kind {
	case cellHave:
		return m.th.good.Render("█")
	case cellBusy:
		return m.th.warn.Render("▓")
	case cellSkipped:
		return m.th.faint.Render("-")
	}
	if !m.blocks {
		d := "+"
		if avail < 16 {
			d = fmt.Sprintf("%X", avail)
		}
		return m.th.heatStyle(avail).Render(d)
	}
	g := "▒"
	switch {
	case avail == 0:
		g = "·"
	case avail == 1:
		g = "░"
	}
	return m.th.heatStyle(avail).Render(g)
}

func (m Model) pieceLegend() string {
	parts := []string{m.th.good.Render("█") + " have", m.th.warn.Render("▓") + " in flight", m.th.faint.Render("-") + " skipped"}
	if m.blocks {
		parts = append(parts, m.th.heat[0].Render("·")+" nobody has it", m.th.heat[1].Render("░")+" one peer", m.th.heat[3].Render("▒")+" more")
	} else {
		var ramp string
		for i, st := range m.th.heat {
			ramp += st.Render(fmt.Sprintf("%X", i))
		}
		parts = append(parts, ramp+"…F peers have it")
	}
	parts = append(parts, m.th.faint.Render("b: "+map[bool]string{true: "digits", false: "blocks"}[m.blocks]))
	return joinFit(parts, "  ", m.width-1)
}

// availabilityStats summarises the swarm's copies of the pieces we still
// want: the rarest count, the median, and the distributed copies (how
// many whole copies the connected peers hold between them).
func (m Model) availabilityStats(s *swarm.Snapshot, skipped []bool) []string {
	var want []int
	var all []int
	for i, a := range s.Availability {
		all = append(all, int(a))
		if i < len(s.Pieces) && s.Pieces[i] != swarm.PieceHave && (skipped == nil || !skipped[i]) {
			want = append(want, int(a))
		}
	}
	out := []string{}
	if len(want) > 0 {
		slices.Sort(want)
		out = append(out, fmt.Sprintf("%d pieces to get: the rarest on %s, median %d", len(want), plural(want[0], "peer"), want[len(want)/2]))
		if want[0] == 0 {
			zero := 0
			for _, a := range want {
				if a == 0 {
					zero++
				}
			}
			out = append(out, m.th.bad.Render(fmt.Sprintf("%d that no peer has", zero)))
		}
	}
	if len(all) > 0 {
		lo := slices.Min(all)
		above := 0
		for _, a := range all {
			if a > lo {
				above++
			}
		}
		out = append(out, fmt.Sprintf("%.2f copies in the swarm", float64(lo)+float64(above)/float64(len(all))))
	}
	return out
}
