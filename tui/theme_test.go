package tui

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"
)

// profileTheme is the theme a terminal of profile p with a dark
// background gets, whatever the test's own output is.
func profileTheme(p termenv.Profile) theme {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(true)
	return newTheme(r, true)
}

var themes = []struct {
	name string
	th   func() theme
}{
	{"nocolor", noColorTheme},
	{"16", func() theme { return profileTheme(termenv.ANSI) }},
	{"256", func() theme { return profileTheme(termenv.ANSI256) }},
	{"truecolor", func() theme { return profileTheme(termenv.TrueColor) }},
}

var sgr = regexp.MustCompile("\x1b\\[([0-9;]*)m")

// colourKinds lists what SGR sequences in s set: "16" for the 16
// colours, "256", "truecolor", and "reverse".
func colourKinds(s string) map[string]bool {
	kinds := map[string]bool{}
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		ps := strings.Split(m[1], ";")
		for i := 0; i < len(ps); i++ {
			switch p := ps[i]; {
			case (p == "38" || p == "48") && i+1 < len(ps) && ps[i+1] == "5":
				kinds["256"] = true
				i += 2
			case (p == "38" || p == "48") && i+1 < len(ps) && ps[i+1] == "2":
				kinds["truecolor"] = true
				i += 4
			case p == "7":
				kinds["reverse"] = true
			case len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] <= '7',
				len(p) == 3 && p[:2] == "10" && p[2] <= '7':
				kinds["16"] = true
			}
		}
	}
	return kinds
}

// TestGoldenColours draws the screens that lean on colour under NO_COLOR
// and in 16, 256 and true colour, and checks each uses only the colours
// its terminal has: NO_COLOR none at all, but still reverse video for
// the selection.
func TestGoldenColours(t *testing.T) {
	for _, tc := range themes {
		t.Run(tc.name, func(t *testing.T) {
			_, m := goldenModel(t, 80, 24)
			m.th = tc.th()
			d := update(t, m, keyMsg("enter"), keyMsg("j"), keyMsg("j"), keyMsg("j"))
			screens := []struct {
				name string
				m    Model
			}{
				{"list", m},
				{"peers", d},
				{"pieces", update(t, d, keyMsg("tab"))},
				{"blocks", update(t, d, keyMsg("tab"), keyMsg("b"))},
				{"swarm", update(t, d, keyMsg("shift+tab"))},
			}
			for _, sc := range screens {
				t.Run(sc.name, func(t *testing.T) {
					v := sc.m.View()
					fitsExactly(t, v, 80, 24)
					kinds := colourKinds(v)
					if !kinds["reverse"] && sc.name != "pieces" && sc.name != "blocks" && sc.name != "swarm" {
						t.Errorf("no reverse video for the selection: %v", kinds)
					}
					for _, k := range []string{"16", "256", "truecolor"} {
						want := k == tc.name
						if tc.name == "256" && k == "16" || tc.name == "truecolor" && k == "16" {
							continue // the terminal has those too
						}
						if kinds[k] != want {
							t.Errorf("%s colours used: %v, want %v (%v)", k, kinds[k], want, kinds)
						}
					}
					golden.RequireEqual(t, []byte(v))
				})
			}
		})
	}
}

// TestHeatRampApartIn16Colours: the six steps of the availability ramp
// are six different colours on a 16-colour terminal, and characters tell
// them apart without colour.
func TestHeatRampApartIn16Colours(t *testing.T) {
	th := profileTheme(termenv.ANSI)
	seen := map[string]int{}
	for i := range th.heat {
		seen[th.heatStyle(i).Render("x")] = i
	}
	if len(seen) != len(th.heat) {
		t.Fatalf("%d distinct colours for %d heat steps: %q", len(seen), len(th.heat), fmt.Sprint(seen))
	}
	m := New(&fakeEngine{}, 0).NoColor()
	for _, blocks := range []bool{false, true} {
		m.blocks = blocks
		glyphs := map[string]bool{}
		for _, a := range []int{0, 1, 2} {
			glyphs[m.pieceGlyph(cellMissing, a)] = true
		}
		glyphs[m.pieceGlyph(cellHave, 0)], glyphs[m.pieceGlyph(cellBusy, 0)], glyphs[m.pieceGlyph(cellSkipped, 0)] = true, true, true
		if len(glyphs) < 5 {
			t.Errorf("blocks=%v: without colour the piece map has only %d distinct cells: %v", blocks, len(glyphs), glyphs)
		}
	}
}
