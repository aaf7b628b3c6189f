package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/shoal-torrent/shoal/swarm"
)

var peerSorts = []struct {
	name string
	less func(a, b swarm.PeerSnapshot) int
}{
	{"down rate", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.DownRate, a.DownRate) }},
	{"up rate", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.UpRate, a.UpRate) }},
	{"progress", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.Progress, a.Progress) }},
	{"address", func(a, b swarm.PeerSnapshot) int { return strings.Compare(a.Addr, b.Addr) }},
}

func (m Model) sortedPeers(s *swarm.Snapshot) []swarm.PeerSnapshot {
	peers := slices.Clone(s.Peers)
	slices.SortStableFunc(peers, func(a, b swarm.PeerSnapshot) int {
		if c := peerSorts[m.peerSort].less(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.Addr, b.Addr)
	})
	return peers
}

// peerTable: as the terminal narrows UP goes, then HAS, then DOWN; the
// client takes the rest.
var peerTable = table{
	cols: []column{
		{title: "ADDRESS", widths: []int{22, 16}},
		{title: "CLIENT", flex: true, flexMin: 12, flexMax: 40},
		{title: "FLAGS", widths: []int{7}},
		{title: "HAS", widths: []int{6}, right: true},
		{title: "DOWN", widths: []int{10}, right: true},
		{title: "UP", widths: []int{10}, right: true},
	},
	steps: []step{0, 5, 3, 4},
}

func (m Model) viewPeers(s *swarm.Snapshot) string {
	var b strings.Builder
	peers := m.sortedPeers(s)
	widths := peerTable.layout(m.width)
	b.WriteString(peerTable.header(m.th, widths) + "\n")
	if len(peers) == 0 {
		return b.String() + m.th.faint.Render(" no peers connected") + "\n"
	}
	rows := m.listRows()
	lo, hi := m.peers.window(len(peers), rows)
	for i := lo; i < hi; i++ {
		p := peers[i]
		addr := txt(safe(p.Addr))
		addr.left = true
		cells := []cell{addr, txt(safe(p.Client)), txt(p.Flags()), txt(pct(p.Progress)), txt(rate(p.DownRate)), txt(rate(p.UpRate))}
		b.WriteString(peerTable.row(m.th, widths, cells, i == m.peers.cursor) + "\n")
	}
	if !m.peerPane() || m.peers.cursor >= len(peers) {
		return b.String()
	}
	for i := hi - lo; i < rows; i++ {
		b.WriteString("\n")
	}
	for _, l := range m.peerDetail(s, peers[m.peers.cursor]) {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}

// peerDetail spells out one peer: who it is, every flag in words, what
// it has and what went each way.
func (m Model) peerDetail(s *swarm.Snapshot, p swarm.PeerSnapshot) []string {
	w := m.width - 1
	client := safe(p.Client)
	if client == "" {
		client = "unknown client"
	}
	lines := []string{m.th.title.Render(fit(safe(p.Addr)+" · "+client, w, false, false))}
	var words []string
	flags := p.Flags()
	for _, f := range flagMeanings {
		if strings.Contains(flags, f.letter) {
			words = append(words, f.letter+" "+f.meaning)
		}
	}
	if len(words) == 0 {
		words = append(words, "no flags: neither side is transferring")
	}
	words[0] = "flags: " + words[0]
	fl := flow(words, " · ", w)
	if len(fl) > 2 {
		fl = fl[:2]
	}
	lines = append(lines, fl...)
	source := map[string]string{"tracker": "from a tracker", "pex": "from peer exchange", "dht": "from the DHT",
		"lsd": "from local discovery", "manual": "given with --peer", "incoming": "it connected to us",
		"outgoing": "we dialled it"}[p.Source]
	switch {
	case source == "" && p.Source != "":
		source = "from " + safe(p.Source)
	case source == "":
		source = "source unknown"
	}
	if p.Incoming {
		source = "it connected to us"
	}
	transport := "TCP"
	if p.UTP {
		transport = "uTP"
	}
	if p.Encrypted {
		transport += ", encrypted"
	} else {
		transport += ", plain"
	}
	havePieces := int(p.Progress*float64(s.NumPieces) + 0.5)
	lines = append(lines, joinFit([]string{
		fmt.Sprintf("has %s (%d of %d pieces)", pct(p.Progress), havePieces, s.NumPieces),
		source, transport,
	}, " · ", w))
	lines = append(lines, m.peerRateLines(*m.selected(), p, w)...)
	lines = append(lines, m.peerPieces(s, p, w))
	return lines
}

// peerPieces draws which pieces the peer has in one row, cell for cell
// like the piece map: what it has that we still need in the colour of
// its rarity (so the rare pieces it brings stand out), what we have
// already m.th.faint, what it lacks as a dot.
func (m Model) peerPieces(s *swarm.Snapshot, p swarm.PeerSnapshot, w int) string {
	const label = "its pieces "
	n := min(len(s.Pieces), len(s.Availability))
	has := func(i int) bool { return p.Progress >= 1 }
	switch {
	case n == 0:
		return m.th.faint.Render(fit(label+"(none known yet)", w, false, false))
	case p.Have != nil:
		has = func(i int) bool { return i/8 < len(p.Have) && p.Have[i/8]&(0x80>>(i%8)) != 0 }
	case p.Progress > 0 && p.Progress < 1:
		return m.th.faint.Render(fit(label+"not in this snapshot (too many peers and pieces to copy them all)", w, false, false))
	}
	cells := min(n, max(w-len(label), 1))
	var b strings.Builder
	b.WriteString(m.th.faint.Render(label))
	for c := 0; c < cells; c++ {
		lo, hi := c*n/cells, max((c+1)*n/cells, c*n/cells+1)
		any, need, avail := false, false, 1<<30
		for i := lo; i < hi; i++ {
			if !has(i) {
				continue
			}
			any = true
			if s.Pieces[i] != swarm.PieceHave {
				need, avail = true, min(avail, int(s.Availability[i]))
			}
		}
		switch {
		case need:
			b.WriteString(m.pieceGlyph(cellMissing, avail))
		case any:
			b.WriteString(m.th.faint.Render("█"))
		default:
			b.WriteString(m.th.faint.Render("·"))
		}
	}
	return b.String()
}
