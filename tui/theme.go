package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Colours are given for each kind of terminal rather than left to a
// conversion: in 16 colours the heat ramp must stay six colours apart
// (orange would round to red), and light and dark backgrounds each get
// their own shade.
var (
	accentColor = lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: "#005f87", ANSI256: "24", ANSI: "4"},
		Dark:  lipgloss.CompleteColor{TrueColor: "#5fafff", ANSI256: "75", ANSI: "12"}}
	goodColor = lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: "#007a00", ANSI256: "28", ANSI: "2"},
		Dark:  lipgloss.CompleteColor{TrueColor: "#5fd75f", ANSI256: "77", ANSI: "10"}}
	warnColor = lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: "#9a6700", ANSI256: "136", ANSI: "3"},
		Dark:  lipgloss.CompleteColor{TrueColor: "#ffd75f", ANSI256: "221", ANSI: "11"}}
	badColor = lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: "#b00020", ANSI256: "124", ANSI: "1"},
		Dark:  lipgloss.CompleteColor{TrueColor: "#ff5f5f", ANSI256: "203", ANSI: "9"}}
	dimColor = lipgloss.CompleteAdaptiveColor{
		Light: lipgloss.CompleteColor{TrueColor: "#6c6c6c", ANSI256: "242", ANSI: "8"},
		Dark:  lipgloss.CompleteColor{TrueColor: "#8a8a8a", ANSI256: "245", ANSI: "8"}}
	// heatColors colour a missing piece by how many peers have it: red
	// for nobody, then orange, yellow, green, cyan and blue as copies
	// grow. In 16 colours orange is the dark yellow, apart from both
	// red and bright yellow.
	heatColors = []lipgloss.CompleteColor{
		{TrueColor: "#ff3030", ANSI256: "196", ANSI: "9"},
		{TrueColor: "#ff8700", ANSI256: "208", ANSI: "3"},
		{TrueColor: "#ffd700", ANSI256: "220", ANSI: "11"},
		{TrueColor: "#5fd700", ANSI256: "76", ANSI: "10"},
		{TrueColor: "#00d7d7", ANSI256: "44", ANSI: "14"},
		{TrueColor: "#5f87ff", ANSI256: "69", ANSI: "12"},
	}
)

// theme holds every style the UI draws with, made by one renderer (which
// knows the terminal's colour profile). Without colour (NO_COLOR) the
// selection is still reverse video and titles bold, and the piece map
// tells its cells apart by character alone.
type theme struct {
	title, selected, faint, tabOn, tabOff lipgloss.Style
	bad, good, warn, up                   lipgloss.Style
	heat                                  []lipgloss.Style
}

func newTheme(r *lipgloss.Renderer, color bool) theme {
	st := func(c lipgloss.TerminalColor) lipgloss.Style {
		if !color {
			return r.NewStyle()
		}
		return r.NewStyle().Foreground(c)
	}
	th := theme{
		title:    st(accentColor).Bold(true),
		selected: r.NewStyle().Reverse(true),
		faint:    st(dimColor),
		tabOn:    st(accentColor).Bold(true).Underline(true),
		tabOff:   st(dimColor),
		bad:      st(badColor),
		good:     st(goodColor),
		warn:     st(warnColor),
		up:       st(accentColor),
	}
	if !color {
		th.faint, th.tabOff = r.NewStyle().Faint(true), r.NewStyle().Faint(true)
		th.bad = r.NewStyle().Bold(true)
	}
	for _, c := range heatColors {
		th.heat = append(th.heat, st(c))
	}
	return th
}

// defaultTheme draws in the colours the terminal has, as lipgloss
// detects them from standard output (16, 256 or true colour).
func defaultTheme() theme { return newTheme(lipgloss.DefaultRenderer(), true) }

// noColorTheme draws without colour but with reverse video, bold and
// faint, which NO_COLOR leaves alone (lipgloss, seeing NO_COLOR, would
// drop those too).
func noColorTheme() theme {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	return newTheme(r, false)
}

// NoColor draws the UI without colour, for NO_COLOR.
func (m Model) NoColor() Model {
	m.th = noColorTheme()
	return m
}

func (th theme) heatStyle(avail int) lipgloss.Style {
	switch {
	case avail <= 0:
		return th.heat[0]
	case avail <= 4:
		return th.heat[avail]
	}
	return th.heat[5]
}

// NoColor draws the tracker view without colour, for NO_COLOR.
func (m TrackerModel) NoColor() TrackerModel {
	m.th = noColorTheme()
	return m
}
