package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/shoal-torrent/shoal/swarm"
)

// View implements tea.Model. It draws exactly the terminal's size: a
// header, a status line, the screen's body and a footer.
func (m Model) View() string {
	if m.quitting {
		return ""
	}
	var body string
	switch {
	case m.showHelp:
		body = m.viewHelp()
	case m.detail && m.selected() != nil:
		body = m.viewDetail(m.selected())
	default:
		body = m.viewList()
	}
	lines := []string{m.viewHeader(), m.viewStatus()}
	bl := strings.Split(strings.TrimRight(body, "\n"), "\n")
	n := m.bodyLines()
	if len(bl) > n {
		bl = bl[:n]
	}
	for len(bl) < n {
		bl = append(bl, "")
	}
	lines = append(lines, bl...)
	lines = append(lines, m.viewFooter())
	if len(lines) > m.height && m.height > 0 {
		lines = lines[len(lines)-m.height:]
	}
	for i, l := range lines {
		lines[i] = clip(l, m.width)
	}
	return strings.Join(lines, "\n")
}

// clip cuts a line to the terminal width so resizing never wraps; text
// is fitted with an ellipsis before, so this only guards.
func clip(s string, w int) string {
	if w <= 0 || ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// joinFit joins parts, most important first, with sep, leaving out the
// parts that do not fit in width.
func joinFit(parts []string, sep string, width int) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		next := p
		if out != "" {
			next = out + sep + p
		}
		if ansi.StringWidth(next) <= width {
			out = next
		}
	}
	return out
}

// viewHeader is the session's line: totals, limits and reachability.
func (m Model) viewHeader() string {
	var down, up float64
	var net *swarm.NetworkSnapshot
	for _, it := range m.items {
		if it.Snap != nil {
			down += it.Snap.DownRate
			up += it.Snap.UpRate
			if net == nil {
				net = &it.Snap.Network
			}
		}
	}
	parts := []string{
		m.th.title.Render("shoal"),
		fmt.Sprintf("↓ %s ↑ %s", rate(down), rate(up)),
		m.networkText(net, true),
		m.th.faint.Render(fmt.Sprintf("limits ↓ %s ↑ %s", limitText(m.limDown), limitText(m.limUp))),
		m.th.faint.Render(plural(len(m.items), "torrent")),
	}
	return joinFit(parts, "  ", m.width)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// networkText says whether peers can reach us: the listen port and what
// the port mapping did.
func (m Model) networkText(n *swarm.NetworkSnapshot, short bool) string {
	if n == nil || n.ListenPort == 0 {
		return ""
	}
	port := fmt.Sprintf("port %d", n.ListenPort)
	switch {
	case n.PortOpen:
		ext := ""
		if n.ExternalIP != "" {
			ext = fmt.Sprintf(" as %s:%d", safe(n.ExternalIP), n.ExternalPort)
		}
		return m.th.good.Render(port + " open via " + safe(n.Forwarding) + ext)
	case n.Forwarding == "" || n.Forwarding == "off":
		if short {
			return m.th.faint.Render(port + ", no port mapping")
		}
		return port + ", no port mapping (peers behind NAT can reach us only if the router forwards it)"
	}
	return m.th.warn.Render(port + " not mapped: " + safe(n.Forwarding))
}

// viewStatus is the second line: a question, the filter being typed, or
// how the list is ordered.
func (m Model) viewStatus() string {
	switch {
	case m.confirm >= 0 && m.confirm < len(m.items):
		return m.th.bad.Render(fit(fmt.Sprintf("remove %s? y removes it (files stay), d deletes its files too, any other key keeps it",
			safe(m.items[m.confirm].Label)), m.width, false, false))
	case m.filtering:
		return "/" + safe(m.filter) + "▏" + m.th.faint.Render("  enter keeps the filter, esc clears it")
	case m.adding:
		// A long magnet link shows its end, where the typing is.
		line, hint := "add: "+safe(m.source)+"▏", m.th.faint.Render("  a .torrent path or magnet link; enter adds, esc cancels")
		if ansi.StringWidth(line+hint) <= m.width {
			return line + hint
		}
		return fit(line, m.width, false, true)
	case m.status != "":
		return fit(safe(m.status), m.width, false, false)
	case m.noticeLeft > 0:
		return m.th.good.Render(fit(m.noticeText, m.width, false, false))
	case m.showHelp:
		return m.th.faint.Render("any key closes the help")
	case m.detail && m.tab == tabPeers:
		return m.th.faint.Render("peers sorted by " + peerSorts[m.peerSort].name + " (s changes)")
	case m.detail:
		return ""
	}
	s := "sorted by " + listSorts[m.listSort].name + " (s changes)"
	if m.filter != "" {
		s = fmt.Sprintf("filter %q: %d of %d (esc clears) · %s", safe(m.filter), len(m.order), len(m.items), s)
	}
	return m.th.faint.Render(s)
}

// viewFooter is the key reminder and, at the right, where the cursor is
// in the list on screen.
func (m Model) viewFooter() string {
	var keys []string
	for _, b := range m.keys.short() {
		keys = append(keys, b.Help().Key+" "+b.Help().Desc)
	}
	pos := ""
	switch {
	case m.showHelp:
	case !m.detail:
		pos = m.torrents.position(len(m.order))
	case m.tab == tabPeers:
		pos = m.peers.position(len(m.selected().Snap.Peers))
	case m.tab == tabFiles:
		pos = m.files.position(len(m.selected().Snap.Files))
	case m.tab == tabTrackers:
		pos = m.trackers.position(len(m.selected().Snap.Trackers))
	}
	room := m.width - len(pos) - 1
	left := joinFit(keys, " · ", room)
	return m.th.faint.Render(left) + strings.Repeat(" ", max(m.width-ansi.StringWidth(left)-len(pos), 1)) + pos
}

func (m Model) stateStyle(s swarm.State) lipgloss.Style {
	switch s {
	case swarm.StateSeeding:
		return m.th.good
	case swarm.StateError:
		return m.th.bad
	case swarm.StatePaused, swarm.StateChecking, swarm.StateStopped, stateResuming:
		return m.th.faint
	}
	return m.th.warn
}

// flow lays items out in lines of at most width cells, sep between them.
func flow(items []string, sep string, width int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case ansi.StringWidth(cur+sep+it) <= width:
			cur += sep + it
		default:
			lines = append(lines, cur)
			cur = it
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// flagMeanings spell out Transmission's peer flags, as PeerSnapshot.Flags
// writes them.
var flagMeanings = []struct{ letter, meaning string }{
	{"D", "downloading from it"},
	{"d", "we want to, it chokes us"},
	{"U", "uploading to it"},
	{"u", "it wants to, we choke it"},
	{"O", "optimistic unchoke"},
	{"S", "snubbed (sent nothing lately)"},
	{"E", "encrypted"},
	{"T", "uTP"},
	{"I", "it connected to us"},
	{"X", "from peer exchange"},
	{"H", "from the DHT"},
	{"L", "from local discovery"},
}

func (m Model) viewHelp() string {
	var b strings.Builder
	b.WriteString(m.th.title.Render(" Keys") + "\n")
	all := m.keys.all()
	cols := 2
	if m.width < 60 {
		cols = 1
	}
	rows := (len(all) + cols - 1) / cols
	colW := (m.width - 1) / cols
	for r := 0; r < rows; r++ {
		line := " "
		for c := 0; c < cols; c++ {
			i := c*rows + r
			if i >= len(all) {
				break
			}
			h := all[i].Help()
			line += fit(fit(h.Key, 8, false, false)+" "+h.Desc, colW-1, false, false) + " "
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	w := m.width - 2
	var notes []string
	notes = append(notes, flow([]string{"PEERS 12 (3):", "12 peers connected,", "3 of them seeds", "(they have every piece)."}, " ", w)...)
	var flags []string
	for _, f := range flagMeanings {
		flags = append(flags, f.letter+" "+f.meaning)
	}
	flags[0] = "Peer flags: " + flags[0]
	flags = append(flags, "no letter: from a tracker or --peer")
	notes = append(notes, flow(flags, " · ", w)...)
	notes = append(notes, flow([]string{"Pieces:", "█ have", "▓ in flight", "- skipped file", "0–F how many peers have it (0, in red: nobody)"}, "  ", w)...)
	// A blank line sets the notes apart where the screen has room for it.
	if 1+rows+1+len(notes) <= m.bodyLines() {
		b.WriteString("\n")
	}
	for _, l := range notes {
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}
