package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// TestListScrollsWithTheCursor: 33 torrents in a 24-line window. The
// cursor never leaves the screen, enter opens the torrent you see, and
// the footer says where you are.
func TestListScrollsWithTheCursor(t *testing.T) {
	eng := manyTorrents(33)
	m := update(t, New(eng, time.Second), tea.WindowSizeMsg{Width: 80, Height: 24}, ItemsMsg(eng.Items()))
	for range 25 {
		m = update(t, m, keyMsg("j"))
	}
	v := m.View()
	if !strings.Contains(selectedLine(v), "torrent 26") || !strings.HasSuffix(v, "26/33") {
		t.Fatalf("after 25 downs the selected row is not torrent 26 on screen:\n%s", v)
	}
	fitsExactly(t, v, 80, 24)
	m = update(t, m, keyMsg("enter"))
	if !strings.Contains(m.View(), "torrent 26") {
		t.Fatalf("enter did not open the torrent on screen:\n%s", m.View())
	}
	m = update(t, m, keyMsg("esc"), tea.KeyMsg{Type: tea.KeyEnd})
	if v := m.View(); !strings.Contains(selectedLine(v), "torrent 33") || !strings.HasSuffix(v, "33/33") {
		t.Fatalf("end:\n%s", v)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyPgUp})
	if v := m.View(); !strings.HasSuffix(v, "14/33") || !strings.Contains(selectedLine(v), "torrent 14") {
		t.Fatalf("page up from 33 with 20 rows should land on 14:\n%s", v)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyHome})
	if v := m.View(); !strings.Contains(selectedLine(v), "torrent 01") {
		t.Fatalf("home:\n%s", v)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyPgDown}, tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	if v := m.View(); !strings.HasSuffix(v, "23/33") || !strings.Contains(selectedLine(v), "torrent 23") {
		t.Fatalf("page down then the wheel:\n%s", v)
	}
	m = update(t, m, tea.MouseMsg{Action: tea.MouseActionPress, Button: tea.MouseButtonWheelUp})
	if v := m.View(); !strings.HasSuffix(v, "20/33") {
		t.Fatalf("wheel up:\n%s", v)
	}
	// A resize to fewer rows keeps the cursor on screen.
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 10})
	if v := m.View(); !strings.Contains(selectedLine(v), "torrent 20") {
		t.Fatalf("resize lost the cursor:\n%s", v)
	}
}

// TestPeerListScrolls: the peer list used to be cut off; now G reaches
// the last peer and it is on screen, selected, with its details below.
func TestPeerListScrolls(t *testing.T) {
	_, m := goldenModel(t, 80, 24)
	m = update(t, m, keyMsg("enter"), keyMsg("G"))
	v := m.View()
	if !strings.HasSuffix(v, "30/30") || !strings.Contains(selectedLine(v), "127.0.0.2:6881") {
		t.Fatalf("G on the peers tab (slowest peer last):\n%s", v)
	}
	if !strings.Contains(v, "127.0.0.2:6881 · qBittorrent") {
		t.Fatalf("no details of the selected peer:\n%s", v)
	}
	// Files scroll the same way.
	m = update(t, m, keyMsg("tab"), keyMsg("tab"), keyMsg("tab"), keyMsg("G"))
	if v := m.View(); !strings.HasSuffix(v, "12/12") || !strings.Contains(selectedLine(v), "number 11") {
		t.Fatalf("G on the files tab:\n%s", v)
	}
}

// TestFilterAndSort: / narrows the list by name, s orders it.
func TestFilterAndSort(t *testing.T) {
	eng := manyTorrents(33)
	m := update(t, New(eng, time.Second), tea.WindowSizeMsg{Width: 100, Height: 30}, ItemsMsg(eng.Items()))
	m = update(t, m, keyMsg("/"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("t 1")}, tea.KeyMsg{Type: tea.KeyEnter})
	v := m.View()
	if !strings.Contains(v, "torrent 10") || strings.Contains(v, "torrent 09") || !strings.HasSuffix(v, "1/10") {
		t.Fatalf("filter \"t 1\" should leave torrents 10-19:\n%s", v)
	}
	// Commands go to the torrent shown, not to the list position.
	m = update(t, m, keyMsg("j"), keyMsg("p"))
	if len(eng.paused) != 1 || eng.paused[0] != 10 {
		t.Fatalf("p on torrent 11 paused engine index %v", eng.paused)
	}
	m = update(t, m, keyMsg("esc"))
	if v := m.View(); !strings.HasSuffix(v, "11/33") {
		t.Fatalf("esc should clear the filter and keep torrent 11 selected:\n%s", v)
	}
	// s: added → name → progress (most done first).
	m = update(t, m, keyMsg("s"), keyMsg("s"), tea.KeyMsg{Type: tea.KeyHome})
	if v := m.View(); !strings.Contains(selectedLine(v), "torrent 33") || !strings.Contains(v, "sorted by progress") {
		t.Fatalf("sorted by progress, the first row should be torrent 33:\n%s", v)
	}
}

func selectedLine(view string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.HasPrefix(l, ">") {
			return l
		}
	}
	return ""
}

// TestSortByAdded: s reaches "added", newest first, from the items'
// added times, whatever order the engine lists them in.
func TestSortByAdded(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var items []Item
	for i, d := range []int{2, 0, 3, 1} {
		s := snapshot(fmt.Sprintf("torrent %d", i), swarm.StateDownloading, 0.5)
		items = append(items, Item{Label: s.Name, Snap: s, Added: at.Add(time.Duration(d) * time.Hour)})
	}
	m := New(&fakeEngine{items: items}, time.Second)
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 20}, ItemsMsg(items))
	for range len(listSorts) - 1 {
		m = update(t, m, keyMsg("s"))
	}
	v := m.View()
	if !strings.Contains(v, "sorted by added, newest first") {
		t.Fatalf("s never reaches added:\n%s", v)
	}
	var order []string
	for _, l := range strings.Split(v, "\n") {
		if i := strings.Index(l, "torrent "); i >= 0 {
			order = append(order, l[i:i+9])
		}
	}
	if strings.Join(order, ",") != "torrent 2,torrent 0,torrent 3,torrent 1" {
		t.Fatalf("added order %v, want torrents 2, 0, 3, 1 (newest first):\n%s", order, v)
	}
}
