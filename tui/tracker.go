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
	err      error
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

// TrackerMsg carries fresh stats (or why there are none).
type TrackerMsg struct {
	Stats TrackerStats
	Err   error
}

func (m TrackerModel) poll() tea.Msg {
	st, err := m.fetch()
	return TrackerMsg{st, err}
}

// Init implements tea.Model.
func (m TrackerModel) Init() tea.Cmd { return m.poll }

// Update implements tea.Model.
func (m TrackerModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case TrackerMsg:
		m.stats, m.err = msg.Stats, msg.Err
		return m, tea.Tick(m.interval, func(time.Time) tea.Msg { return m.poll() })
	case tea.KeyMsg:
		if key.Matches(msg, m.quit) {
			return m, tea.Quit
		}
	}
	return m, nil
}

// View implements tea.Model.
func (m TrackerModel) View() string {
	var b strings.Builder
	s := m.stats
	b.WriteString(m.th.title.Render("shoal tracker") + m.th.faint.Render("  "+safe(m.url)) + "\n")
	if m.err != nil {
		b.WriteString(m.th.bad.Render("cannot read stats: "+safe(m.err.Error())) + "\n")
	}
	fmt.Fprintf(&b, "%s torrents, %s seeders, %s leechers; %.1f announces/s, %.1f scrapes/s; up %s\n\n",
		humanize.Comma(int64(s.Torrents)), humanize.Comma(int64(s.Seeders)), humanize.Comma(int64(s.Leechers)),
		s.AnnouncesPerSecond, s.ScrapesPerSecond, strings.TrimSuffix(humanize.RelTime(time.Now().Add(-s.Uptime), time.Now(), "", ""), " "))
	b.WriteString(m.th.faint.Render(fmt.Sprintf("%-40s %8s %8s %10s", "INFO HASH", "SEEDERS", "LEECHERS", "COMPLETED")) + "\n")
	rows := max(m.height-7, 1)
	for i, sw := range s.Swarms {
		if i == rows {
			break
		}
		// The tracker's page is another process's word: escaped.
		fmt.Fprintf(&b, "%-40s %8d %8d %10d\n", safe(sw.InfoHash), sw.Seeders, sw.Leechers, sw.Completed)
	}
	if len(s.Swarms) == 0 {
		b.WriteString(m.th.faint.Render("no swarms listed (the store may not list them)") + "\n")
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = clip(lines[i], m.width)
	}
	return strings.Join(lines, "\n") + "\n" + m.th.faint.Render("q quit")
}
