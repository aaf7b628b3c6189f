package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/dustin/go-humanize"
)

// TrackerStats is what the tracker view shows: a tracker's /stats.
type TrackerStats struct {
	Torrents, Seeders, Leechers          int
	AnnouncesPerSecond, ScrapesPerSecond float64
	Uptime                               time.Duration
	Swarms                               []TrackerSwarm
}

// TrackerSwarm is one swarm of a tracker.
type TrackerSwarm struct {
	InfoHash                     string
	Seeders, Leechers, Completed int
}

// TrackerModel shows a tracker's swarms; fetch reads its /stats.
type TrackerModel struct {
	url      string
	fetch    func() (TrackerStats, error)
	interval time.Duration
	stats    TrackerStats
	// answered says stats came at least once; err is the last poll's
	// failure, since when it has failed (the figures shown are then the
	// last answer's, and say so).
	answered  bool
	err       error
	downSince time.Time
	at        time.Time
	// ann and scr are recent announce and scrape rates, one a poll.
	ann, scr []float64
	width    int
	height   int
	quit     key.Binding
	th       theme
}

// NewTracker returns a view of the tracker at url, polled every interval.
func NewTracker(url string, fetch func() (TrackerStats, error), interval time.Duration) TrackerModel {
	return TrackerModel{url: url, fetch: fetch, interval: interval, width: 80, height: 24, th: defaultTheme(),
		quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit"))}
}

// TrackerMsg carries fresh stats (or why there are none) and when they
// were read.
type TrackerMsg struct {
	Stats TrackerStats
	Err   error
	At    time.Time
}

func (m TrackerModel) poll() tea.Msg {
	st, err := m.fetch()
	return TrackerMsg{st, err, time.Now()}
}

// Init implements tea.Model.
func (m TrackerModel) Init() tea.Cmd { return m.poll }

// Update implements tea.Model.
func (m TrackerModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case TrackerMsg:
		m.at = msg.At
		switch {
		case msg.Err != nil:
			// A tracker gone away is said so; its last figures stay,
			// marked, rather than turning into zeros.
			if m.err == nil {
				m.downSince = msg.At
			}
			m.err = msg.Err
		default:
			m.stats, m.err, m.answered = msg.Stats, nil, true
			m.ann = appendBounded(m.ann, msg.Stats.AnnouncesPerSecond, historyLen)
			m.scr = appendBounded(m.scr, msg.Stats.ScrapesPerSecond, historyLen)
		}
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return m.poll() })
	case tea.KeyMsg:
		if key.Matches(msg, m.quit) {
			return m, tea.Quit
		}
	}
	return m, nil
}

// counted is n things with thousands separated: "1,200 leechers".
func counted(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return humanize.Comma(int64(n)) + " " + what + "s"
}

// perSecond labels a graph of events a second.
func perSecond(v float64) string { return fmt.Sprintf("%.1f/s", v) }

// shortHash is an infohash cut to fit w cells, its start kept.
func shortHash(h string, w int) string { return fit(safe(h), w, false, false) }

// View implements tea.Model.
func (m TrackerModel) View() string {
	var lines []string
	s := m.stats
	lines = append(lines, m.th.title.Render("shoal tracker")+m.th.faint.Render("  "+safe(m.url)))
	switch {
	case m.err != nil:
		since := ""
		if d := m.at.Sub(m.downSince); !m.downSince.IsZero() && d >= time.Second {
			since = " for " + etaLong(d)
		}
		lines = append(lines, m.th.bad.Render("the tracker is not answering"+since+": "+safe(m.err.Error())))
		if m.answered {
			lines = append(lines, m.th.faint.Render("the figures below are from its last answer"))
		}
	case !m.answered:
		lines = append(lines, m.th.faint.Render("asking the tracker…"))
	}
	// Graphs while they leave room for the swarms: 2 title, 2×(rows+1).
	gh := min((m.height-len(lines)-11)/2-2, 6)
	if m.answered {
		totals := fmt.Sprintf("%s, %s, %s; up %s", counted(s.Torrents, "torrent"), counted(s.Seeders, "seeder"),
			counted(s.Leechers, "leecher"), strings.TrimSpace(humanize.RelTime(time.Time{}, time.Time{}.Add(s.Uptime), "", "")))
		if gh < 2 {
			totals += fmt.Sprintf("; %.1f announces/s, %.1f scrapes/s", s.AnnouncesPerSecond, s.ScrapesPerSecond)
		}
		lines = append(lines, totals)
	}
	if gh >= 2 && m.answered {
		gw := m.width - graphAxis - 1
		lines = append(lines, " announces "+m.th.good.Render(perSecond(s.AnnouncesPerSecond)))
		lines = append(lines, m.th.graph(m.ann, gw, gh, m.interval, m.th.good, perSecond)...)
		lines = append(lines, " scrapes "+m.th.up.Render(perSecond(s.ScrapesPerSecond)))
		lines = append(lines, m.th.graph(m.scr, gw, gh, m.interval, m.th.up, perSecond)...)
	}
	hw := min(max(m.width-30, 8), 40)
	lines = append(lines, "", m.th.faint.Render(fit("INFO HASH", hw, false, false)+fmt.Sprintf(" %8s %8s %10s", "SEEDERS", "LEECHERS", "COMPLETED")))
	rows := max(m.height-len(lines)-1, 1)
	for i, sw := range s.Swarms {
		if i == rows {
			break
		}
		// The tracker's page is another process's word: escaped. It
		// knows no names: the infohash, cut to fit.
		lines = append(lines, shortHash(sw.InfoHash, hw)+fmt.Sprintf(" %8d %8d %10d", sw.Seeders, sw.Leechers, sw.Completed))
	}
	if len(s.Swarms) == 0 && m.answered {
		lines = append(lines, m.th.faint.Render("no swarms listed (the store may not list them)"))
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	lines = lines[:max(m.height-1, 1)]
	for i := range lines {
		lines[i] = clip(lines[i], m.width)
	}
	return strings.Join(lines, "\n") + "\n" + m.th.faint.Render("q quit")
}
