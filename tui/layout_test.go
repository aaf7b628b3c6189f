package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// TestEveryScreenFitsEverySize walks the sizes the UI promises, 80×24 to
// 250×70, and checks every screen fills the terminal exactly, without a
// line wrapping or spilling.
func TestEveryScreenFitsEverySize(t *testing.T) {
	_, base := goldenModel(t, 80, 24)
	for w := 80; w <= 250; w += 17 {
		for h := 24; h <= 70; h += 23 {
			m := update(t, base, tea.WindowSizeMsg{Width: w, Height: h})
			views := map[string]string{"list": m.View(), "help": update(t, m, keyMsg("?")).View()}
			d := update(t, m, keyMsg("enter"))
			for _, n := range tabNames {
				views[n] = d.View()
				d = update(t, d, keyMsg("tab"))
			}
			for name, v := range views {
				t.Run(fmt.Sprintf("%dx%d/%s", w, h, name), func(t *testing.T) { fitsExactly(t, v, w, h) })
			}
		}
	}
}

// TestListKeepsItsColumnsAt80 is the complaint: at 80 columns the
// list lost RATIO, PEERS and ETA to clipping. Now the stated order drops
// the bar and RATIO first; PEERS and ETA stay, and a long name ends in an
// ellipsis rather than mid-word.
func TestListKeepsItsColumnsAt80(t *testing.T) {
	_, m := goldenModel(t, 80, 24)
	v := m.View()
	lines := strings.Split(v, "\n")
	for _, col := range []string{"NAME", "STATE", "SIZE", "DOWN", "UP", "PEERS", "ETA"} {
		if !strings.Contains(lines[2], col) {
			t.Errorf("80 columns: header lacks %s:\n%s", col, v)
		}
	}
	if !strings.Contains(lines[3], "Big.Buck.Bunny…") || !strings.Contains(lines[3], "37.0%") || !strings.Contains(lines[3], "30 (4)") {
		t.Errorf("80 columns: first row not fitted:\n%s", v)
	}
	// Rows line up with their headers: PEERS ends where its values end.
	if cellEnd(lines[2], "PEERS") != cellEnd(lines[3], "30 (4)") {
		t.Errorf("PEERS values do not line up with the header:\n%s\n%s", lines[2], lines[3])
	}
	wide := update(t, m, tea.WindowSizeMsg{Width: 200, Height: 60}).View()
	for _, want := range []string{"RATIO", "DONE/SIZE", "Big.Buck.Bunny.2008.1080p.BluRay.x264-EXTENDED.EDITION", "222 MiB/600 MiB", "░"} {
		if !strings.Contains(wide, want) {
			t.Errorf("200 columns lack %q:\n%s", want, wide)
		}
	}
}

// TestHelpFitsAt80x24: the `?` screen used to lose its last column (U, D,
// q) at 80×24.
func TestHelpFitsAt80x24(t *testing.T) {
	_, m := goldenModel(t, 80, 24)
	v := update(t, m, keyMsg("?")).View()
	fitsExactly(t, v, 80, 24)
	for _, b := range m.keys.all() {
		if !strings.Contains(v, b.Help().Desc) {
			t.Errorf("help at 80×24 lacks %q:\n%s", b.Help().Desc, v)
		}
	}
	for _, want := range []string{"PEERS 12 (3)", "T uTP", "E encrypted", "I it connected to us", "H from the DHT", "X from peer exchange", "L from local discovery"} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
}

// TestResizeRelaysOutAtOnce: a size message alone redraws at the new size.
func TestResizeRelaysOutAtOnce(t *testing.T) {
	_, m := goldenModel(t, 200, 60)
	m = update(t, m, keyMsg("enter"))
	fitsExactly(t, m.View(), 200, 60)
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	fitsExactly(t, m.View(), 80, 24)
	m = update(t, m, tea.WindowSizeMsg{Width: 250, Height: 70})
	fitsExactly(t, m.View(), 250, 70)
}

// cellEnd is the screen column where sub ends in line.
func cellEnd(line, sub string) int {
	i := strings.Index(line, sub)
	if i < 0 {
		return -1
	}
	return ansi.StringWidth(line[:i+len(sub)])
}
