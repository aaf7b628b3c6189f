package tui

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// runProgram runs the model as a real bubbletea program reading its keys
// from a pipe, writes each of inputs in one write (so they arrive in one
// read, as fast typing does), then quits and returns the final model.
func runProgram(t *testing.T, m Model, inputs ...string) Model {
	t.Helper()
	pr, pw := io.Pipe()
	p := tea.NewProgram(m, tea.WithInput(pr), tea.WithOutput(io.Discard))
	done := make(chan tea.Model, 1)
	go func() {
		final, err := p.Run()
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	for _, in := range inputs {
		if _, err := pw.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pw.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case final := <-done:
		pw.Close()
		return final.(Model)
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not quit")
	}
	return m
}

func manyTorrents(n int) *fakeEngine {
	eng := &fakeEngine{}
	for i := range n {
		s := snapshot(fmt.Sprintf("torrent %02d", i+1), swarm.StateDownloading, float64(i)/float64(n))
		eng.items = append(eng.items, Item{Label: s.Name, Snap: s})
	}
	return eng
}

// TestKeysInOneReadAreEachHandled: bubbletea hands keys read together to
// the model as one message ("jj"); each must still count.
func TestKeysInOneReadAreEachHandled(t *testing.T) {
	eng := manyTorrents(10)
	m := update(t, New(eng, time.Hour), ItemsMsg(eng.Items()))
	final := runProgram(t, m, "jjj", "DDDD")
	if final.torrents.cursor != 3 {
		t.Errorf("jjj in one read moved the cursor to %d, want 3", final.torrents.cursor)
	}
	if eng.down != 20<<20 {
		t.Errorf("DDDD in one read set the download limit to %d, want the fourth step (20 MiB/s)", eng.down)
	}
}

// laggingEngine answers commands but its snapshots and limits trail them,
// as a real engine's do (commands run in goroutines; the next snapshot
// may predate them).
type laggingEngine struct {
	fakeEngine
	setPrio []string
}

func (l *laggingEngine) SetFilePriority(i, f int, p string) { l.setPrio = append(l.setPrio, p) }
func (l *laggingEngine) SetLimits(d, u int64)               {}

// TestCommandsShowAtOnceAndBuildOnEachOther: ff cycles the priority twice
// (normal → high → skip), not twice to high from the stale snapshot; the
// screen shows the result at once, and the snapshot that confirms it
// ends the override.
func TestCommandsShowAtOnceAndBuildOnEachOther(t *testing.T) {
	eng := &laggingEngine{fakeEngine: fakeEngine{items: []Item{{Label: "album", Snap: snapshot("album", swarm.StateDownloading, 0.4)}}}}
	m := update(t, New(eng, time.Hour), tea.WindowSizeMsg{Width: 100, Height: 30}, ItemsMsg(eng.Items()))
	m = update(t, m, keyMsg("enter"), keyMsg("tab"), keyMsg("tab"), keyMsg("tab"))
	m = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("ff")})
	if strings.Join(eng.setPrio, ",") != "high,skip" {
		t.Fatalf("ff sent %v, want high then skip", eng.setPrio)
	}
	if !strings.Contains(fileRow(m.View(), "a.flac"), "skip") {
		t.Fatalf("the screen does not show skip at once:\n%s", m.View())
	}
	// A stale snapshot (still normal) does not undo it.
	m = update(t, m, ItemsMsg(eng.Items()))
	if !strings.Contains(fileRow(m.View(), "a.flac"), "skip") {
		t.Fatalf("a stale snapshot undid the press:\n%s", m.View())
	}
	// One more press builds on skip: back to normal.
	m = update(t, m, keyMsg("f"))
	if eng.setPrio[2] != "normal" {
		t.Fatalf("third f sent %q, want normal", eng.setPrio[2])
	}
	// The engine confirms; then its word is what shows.
	eng.items[0].Snap.Files[0].Priority = "normal"
	m = update(t, m, ItemsMsg(eng.Items()))
	eng.items[0].Snap.Files[0].Priority = "high"
	m = update(t, m, ItemsMsg(eng.Items()))
	if !strings.Contains(fileRow(m.View(), "a.flac"), "high") {
		t.Fatalf("after confirmation the snapshot's priority should show:\n%s", m.View())
	}

	// Limits: DD shows 1 MiB/s at once, and stale engine limits do not
	// reset it for a few polls.
	m = update(t, m, keyMsg("esc"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("DD")}, ItemsMsg(eng.Items()))
	if v := m.View(); !strings.Contains(v, "↓ 1.0 MiB/s") {
		t.Fatalf("DD not shown at once:\n%s", v)
	}
	// Pause shows at once, and pp pauses then resumes.
	m = update(t, m, keyMsg("p"))
	if !strings.Contains(m.View(), "paused") {
		t.Fatalf("p not shown at once:\n%s", m.View())
	}
	m = update(t, m, keyMsg("p"))
	if len(eng.paused) != 1 || len(eng.resumed) != 1 {
		t.Fatalf("pp: paused %v resumed %v", eng.paused, eng.resumed)
	}
}

func fileRow(view, name string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, name) {
			return l
		}
	}
	return ""
}
