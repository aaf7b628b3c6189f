package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/swarm"
)

// Colours adapt to light and dark terminals.
var (
	accent   = lipgloss.AdaptiveColor{Light: "#005f87", Dark: "#5fafff"}
	good     = lipgloss.AdaptiveColor{Light: "#007a00", Dark: "#5fd75f"}
	warn     = lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#ffd75f"}
	bad      = lipgloss.AdaptiveColor{Light: "#b00020", Dark: "#ff5f5f"}
	dim      = lipgloss.AdaptiveColor{Light: "#6c6c6c", Dark: "#8a8a8a"}
	title    = lipgloss.NewStyle().Bold(true).Foreground(accent)
	selected = lipgloss.NewStyle().Reverse(true)
	faint    = lipgloss.NewStyle().Foreground(dim)
	tabOn    = lipgloss.NewStyle().Bold(true).Underline(true).Foreground(accent)
	tabOff   = lipgloss.NewStyle().Foreground(dim)
)

// View implements tea.Model.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	var b strings.Builder
	b.WriteString(title.Render("shoal") + faint.Render(fmt.Sprintf("  %d torrents   limits ↓ %s  ↑ %s", len(m.items), limitText(m.limDown), limitText(m.limUp))) + "\n")
	if m.confirm >= 0 && m.confirm < len(m.items) {
		b.WriteString(lipgloss.NewStyle().Foreground(bad).Render(fmt.Sprintf("remove %s? its files stay on disk. y to remove, any other key to keep", safe(m.items[m.confirm].Label))) + "\n")
	}
	body := ""
	switch {
	case m.showHelp:
		m.help.ShowAll = true
		body = "\n" + title.Render("Keys") + "\n\n" + m.help.View(m.keys) + "\n"
	case m.detail && m.selected() != nil:
		body = m.viewDetail(m.selected())
	default:
		body = m.viewList()
	}
	b.WriteString(body)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	limit := max(m.height-1, 3)
	if len(lines) > limit {
		lines = lines[:limit]
	}
	for i, l := range lines {
		lines[i] = clip(l, m.width)
	}
	m.help.ShowAll = false
	return strings.Join(lines, "\n") + "\n" + clip(m.help.View(m.keys), m.width)
}

// clip cuts a line to the terminal width so resizing never wraps.
func clip(s string, w int) string {
	if w <= 0 || lipgloss.Width(s) <= w {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(w).Render(s)
}

func bar(frac float64, width int) string {
	width = max(width, 4)
	filled := int(frac*float64(width) + 0.5)
	filled = min(max(filled, 0), width)
	st := lipgloss.NewStyle().Foreground(warn)
	if frac >= 1 {
		st = lipgloss.NewStyle().Foreground(good)
	}
	return st.Render(strings.Repeat("█", filled)) + faint.Render(strings.Repeat("░", width-filled))
}

func rate(r float64) string { return humanize.IBytes(uint64(r)) + "/s" }

func limitText(l int64) string {
	if l <= 0 {
		return "unlimited"
	}
	return rate(float64(l))
}

func eta(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	now := time.Now()
	return strings.TrimSpace(humanize.RelTime(now, now.Add(d), "", ""))
}

func stateStyle(s swarm.State) lipgloss.Style {
	switch s {
	case swarm.StateSeeding:
		return lipgloss.NewStyle().Foreground(good)
	case swarm.StateError:
		return lipgloss.NewStyle().Foreground(bad)
	case swarm.StatePaused, swarm.StateChecking:
		return lipgloss.NewStyle().Foreground(dim)
	}
	return lipgloss.NewStyle().Foreground(warn)
}

func (m Model) viewList() string {
	var b strings.Builder
	b.WriteString(faint.Render(fmt.Sprintf("%-18s %9s %-12s %-11s %10s %10s %5s %7s %s", "NAME", "SIZE", "PROGRESS", "STATE", "DOWN", "UP", "RATIO", "PEERS", "ETA")) + "\n")
	if len(m.items) == 0 {
		b.WriteString(faint.Render("no torrents yet") + "\n")
	}
	for i, it := range m.items {
		s := it.Snap
		if s == nil {
			continue
		}
		line := fmt.Sprintf("%-18s %9s %s %-11s %10s %10s %5.2f %3d/%-3d %s",
			truncate(safe(it.Label), 18), humanize.IBytes(uint64(s.Size)), bar(s.Progress, 12), stateStyle(s.State).Render(fmt.Sprintf("%-11s", s.State)),
			rate(s.DownRate), rate(s.UpRate), s.Ratio, s.Seeds, len(s.Peers), eta(s.ETA))
		if i == m.cursor {
			line = selected.Render(">") + line
		} else {
			line = " " + line
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// safe escapes text that came from a torrent, a peer or a tracker, so
// it cannot drive the terminal; see termsafe.
func safe(s string) string { return termsafe.String(s) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func (m Model) viewDetail(it *Item) string {
	s := it.Snap
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s  %5.1f%%  ↓%s ↑%s  ratio %.2f  %d peers (%d seeds)\n", title.Render(truncate(safe(it.Label), 24)),
		stateStyle(s.State).Render(string(s.State)), humanize.IBytes(uint64(s.Size)), s.Progress*100,
		rate(s.DownRate), rate(s.UpRate), s.Ratio, len(s.Peers), s.Seeds)
	var tabs []string
	for i, n := range tabNames {
		if i == m.tab {
			tabs = append(tabs, tabOn.Render(n))
		} else {
			tabs = append(tabs, tabOff.Render(n))
		}
	}
	b.WriteString(strings.Join(tabs, "  ") + "\n")
	switch m.tab {
	case tabPeers:
		b.WriteString(m.viewPeers(s))
	case tabPieces:
		b.WriteString(m.viewPieces(s))
	case tabTrackers:
		b.WriteString(viewTrackers(s))
	case tabFiles:
		b.WriteString(m.viewFiles(s))
	case tabSwarm:
		b.WriteString(m.viewSwarm(it))
	}
	return b.String()
}

var peerSorts = []struct {
	name string
	less func(a, b swarm.PeerSnapshot) int
}{
	{"down rate", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.DownRate, a.DownRate) }},
	{"up rate", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.UpRate, a.UpRate) }},
	{"progress", func(a, b swarm.PeerSnapshot) int { return cmp.Compare(b.Progress, a.Progress) }},
	{"address", func(a, b swarm.PeerSnapshot) int { return strings.Compare(a.Addr, b.Addr) }},
}

func (m Model) viewPeers(s *swarm.Snapshot) string {
	var b strings.Builder
	peers := slices.Clone(s.Peers)
	slices.SortStableFunc(peers, peerSorts[m.peerSort].less)
	b.WriteString(faint.Render(fmt.Sprintf("%-22s %-18s %-6s %6s %10s %10s   sorted by %s", "ADDRESS", "CLIENT", "FLAGS", "HAS", "DOWN", "UP", peerSorts[m.peerSort].name)) + "\n")
	for _, p := range peers {
		fmt.Fprintf(&b, "%-22s %-18s %-6s %5.0f%% %10s %10s\n", truncate(safe(p.Addr), 22), truncate(safe(p.Client), 18), p.Flags(),
			p.Progress*100, rate(p.DownRate), rate(p.UpRate))
	}
	if len(peers) == 0 {
		b.WriteString(faint.Render("no peers connected") + "\n")
	}
	b.WriteString(faint.Render("D/d downloading/want  U/u uploading/want  O optimistic  S snubbed  E encrypted  T uTP  I incoming  X pex  H dht  L lsd") + "\n")
	return b.String()
}

// viewPieces draws the piece map: one cell per piece (or per group of
// pieces on a big torrent), green when we have it, yellow while it
// downloads, and for missing pieces a shade by how many peers have it, so
// rarest-first shows as the pale (rare) cells filling first.
func (m Model) viewPieces(s *swarm.Snapshot) string {
	width := max(m.width-2, 20)
	rows := max(m.height-8, 3)
	cells := min(len(s.Pieces), width*rows)
	if cells == 0 {
		return faint.Render("no pieces") + "\n"
	}
	maxAvail := uint16(1)
	for _, a := range s.Availability {
		maxAvail = max(maxAvail, a)
	}
	have := lipgloss.NewStyle().Foreground(good)
	busy := lipgloss.NewStyle().Foreground(warn)
	rare := lipgloss.NewStyle().Foreground(bad)
	var b strings.Builder
	per := float64(len(s.Pieces)) / float64(cells)
	for c := 0; c < cells; c++ {
		lo, hi := int(float64(c)*per), max(int(float64(c+1)*per), int(float64(c)*per)+1)
		state, avail := swarm.PieceHave, 0
		for i := lo; i < hi && i < len(s.Pieces); i++ {
			state = min(state, s.Pieces[i])
			avail += int(s.Availability[i])
		}
		avail /= hi - lo
		switch {
		case state == swarm.PieceHave:
			b.WriteString(have.Render("█"))
		case state == swarm.PieceDownloading:
			b.WriteString(busy.Render("▓"))
		case avail == 0:
			b.WriteString(rare.Render("·"))
		case avail*3 <= int(maxAvail):
			b.WriteString(faint.Render("░"))
		default:
			b.WriteString(faint.Render("▒"))
		}
		if (c+1)%width == 0 {
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "\n%s have  %s downloading  ░ rare  ▒ common  %s nobody has it   %d pieces of %s, %d per cell\n",
		have.Render("█"), busy.Render("▓"), rare.Render("·"), s.NumPieces, humanize.IBytes(uint64(s.PieceLength)), int(per+0.5))
	return b.String()
}

func viewTrackers(s *swarm.Snapshot) string {
	var b strings.Builder
	if len(s.Trackers) == 0 {
		return faint.Render("no trackers (peers from --peer, the DHT or other peers)") + "\n"
	}
	b.WriteString(faint.Render(fmt.Sprintf("%-4s %-38s %-10s %6s %6s %s", "TIER", "URL", "STATUS", "SEEDS", "LEECH", "NEXT")) + "\n")
	for _, t := range s.Trackers {
		next := "-"
		if !t.NextAnnounce.IsZero() {
			next = humanize.Time(t.NextAnnounce)
		}
		fmt.Fprintf(&b, "%-4d %-38s %-10s %6d %6d %s\n", t.Tier, truncate(safe(t.URL), 38), safe(t.Status), t.Seeders, t.Leechers, next)
		if t.LastError != "" {
			b.WriteString(lipgloss.NewStyle().Foreground(bad).Render("     "+truncate(safe(t.LastError), 70)) + "\n")
		}
	}
	return b.String()
}

func (m Model) viewFiles(s *swarm.Snapshot) string {
	var b strings.Builder
	b.WriteString(faint.Render(fmt.Sprintf("%-40s %9s %-12s %s", "FILE", "SIZE", "PROGRESS", "PRIORITY")) + "\n")
	for i, f := range s.Files {
		line := fmt.Sprintf("%-40s %9s %s %s", truncate(safe(f.Path), 40), humanize.IBytes(uint64(f.Size)), bar(f.Progress, 12), f.Priority)
		if i == m.fileSel {
			line = selected.Render(">") + line
		} else {
			line = " " + line
		}
		b.WriteString(line + "\n")
	}
	b.WriteString(faint.Render("f cycles the selected file's priority: normal → high → skip") + "\n")
	return b.String()
}

func (m Model) viewSwarm(it *Item) string {
	s := it.Snap
	k := s.InfoHash + it.Label
	width := max(m.width-16, 10)
	var b strings.Builder
	fmt.Fprintf(&b, "down %s %s\n", sparkline(m.down[k], width), rate(s.DownRate))
	fmt.Fprintf(&b, "up   %s %s\n", sparkline(m.up[k], width), rate(s.UpRate))
	fmt.Fprintf(&b, "\nupload slots (%d): %s\n", len(s.UploadSlots), strings.Join(s.UploadSlots, ", "))
	for _, p := range s.Peers {
		if p.Optimistic {
			fmt.Fprintf(&b, "optimistic: %s\n", p.Addr)
		}
	}
	switch {
	case s.Private:
		b.WriteString("private torrent: peers from trackers only (no DHT, PEX or LSD)\n")
	case s.DHTNodes > 0:
		fmt.Fprintf(&b, "DHT nodes: %d\n", s.DHTNodes)
	default:
		b.WriteString("DHT: off or not yet joined\n")
	}
	fmt.Fprintf(&b, "downloaded %s, uploaded %s, wasted %s; %d protocol violations, %d failed pieces, %d banned\n",
		humanize.IBytes(uint64(s.Downloaded)), humanize.IBytes(uint64(s.Uploaded)), humanize.IBytes(uint64(s.Wasted)),
		s.Violations, s.HashFails, s.Banned)
	return b.String()
}

// sparkline draws the last width samples with eighth-block characters.
func sparkline(h []float64, width int) string {
	if len(h) > width {
		h = h[len(h)-width:]
	}
	top := 1.0
	for _, v := range h {
		top = max(top, v)
	}
	levels := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(h)))
	for _, v := range h {
		b.WriteRune(levels[min(int(v/top*float64(len(levels)-1)+0.5), len(levels)-1)])
	}
	return lipgloss.NewStyle().Foreground(accent).Render(b.String())
}
