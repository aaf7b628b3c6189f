package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/shoal-torrent/shoal/swarm"
)

// fakeEngine records commands instead of running torrents.
type fakeEngine struct {
	items    []Item
	paused   []int
	resumed  []int
	priority []string
	removed  []int
	deleted  []int
	added    []string
	requeued []int
	down, up int64
}

func (f *fakeEngine) Items() []Item                         { return f.items }
func (f *fakeEngine) Pause(i int)                           { f.paused = append(f.paused, i) }
func (f *fakeEngine) Resume(i int)                          { f.resumed = append(f.resumed, i) }
func (f *fakeEngine) SetFilePriority(i, file int, p string) { f.priority = append(f.priority, p) }
func (f *fakeEngine) Remove(i int, deleteData bool) error {
	f.removed = append(f.removed, i)
	if deleteData {
		f.deleted = append(f.deleted, i)
	}
	return nil
}
func (f *fakeEngine) Add(src string) error {
	if strings.HasPrefix(src, "bad") {
		return errors.New("not a torrent")
	}
	f.added = append(f.added, src)
	return nil
}
func (f *fakeEngine) Requeue(i, delta int) error {
	f.requeued = append(f.requeued, i, delta)
	return nil
}
func (f *fakeEngine) Limits() (int64, int64) { return f.down, f.up }
func (f *fakeEngine) SetLimits(d, u int64)   { f.down, f.up = d, u }

func snapshot(name string, state swarm.State, progress float64) *swarm.Snapshot {
	pieces := make([]byte, 64)
	avail := make([]uint16, 64)
	for i := range pieces {
		switch {
		case float64(i)/64 < progress:
			pieces[i] = swarm.PieceHave
		case i%7 == 0:
			pieces[i] = swarm.PieceDownloading
		}
		avail[i] = uint16(i % 4)
	}
	return &swarm.Snapshot{
		Name: name, InfoHash: "ih-" + name, State: state, Size: 64 << 20, NumPieces: 64, PieceLength: 1 << 20,
		Progress: progress, Left: int64((1 - progress) * (64 << 20)), DownRate: 3 << 20, UpRate: 1 << 20, ETA: 42 * time.Second, Pieces: pieces, Availability: avail,
		Peers: []swarm.PeerSnapshot{
			{Addr: "127.0.0.1:6881", Client: "qBittorrent 4.6.5", AmInterested: true, PeerInterested: true, Optimistic: true, Incoming: true, DownRate: 2 << 20, Progress: 1},
			{Addr: "127.0.0.1:6882", Client: "Transmission 4.0.6", AmInterested: true, PeerChoking: true, Snubbed: true, Source: "tracker"},
		},
		Trackers:    []swarm.TrackerSnapshot{{URL: "udp://127.0.0.1:6969/announce", Tier: 1, Status: "error", LastError: "announce: connection refused"}},
		Files:       []swarm.FileSnapshot{{Path: "album/a.flac", Size: 40 << 20, Progress: 0.5, Priority: "normal"}, {Path: "album/b.flac", Size: 24 << 20, Priority: "normal"}},
		UploadSlots: []string{"127.0.0.1:6881"},
		DHTNodes:    42,
		DHT:         true,
	}
}

// update feeds msgs to m. A key's command (an engine command run off the
// UI goroutine) is run and its outcome fed back, as bubbletea would.
func update(t *testing.T, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		next, cmd := m.Update(msg)
		m = next.(Model)
		if _, isKey := msg.(tea.KeyMsg); isKey && cmd != nil {
			if st, ok := cmd().(StatusMsg); ok {
				next, _ = m.Update(st)
				m = next.(Model)
			}
		}
	}
	return m
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func fixture() (*fakeEngine, Model) {
	eng := &fakeEngine{items: []Item{
		{Label: "seeder", Snap: snapshot("album", swarm.StateSeeding, 1)},
		{Label: "leecher 1", Snap: snapshot("album", swarm.StateDownloading, 0.4)},
	}}
	m := New(eng, time.Second)
	return eng, m
}

func fitsIn(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(view, "\n"), "\n")
	if len(lines) > h {
		t.Fatalf("%d lines in a %d-line terminal", len(lines), h)
	}
	for _, l := range lines {
		if lipgloss.Width(l) > w {
			t.Fatalf("line wider than %d: %q", w, l)
		}
	}
}

func TestListShowsTorrents(t *testing.T) {
	eng, m := fixture()
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, ItemsMsg(eng.Items()))
	v := m.View()
	for _, want := range []string{"seeder", "leecher 1", "seeding", "downloading", "64 MiB", "3.0 MiB/s"} {
		if !strings.Contains(v, want) {
			t.Fatalf("list lacks %q:\n%s", want, v)
		}
	}
	fitsIn(t, v, 80, 24)
}

func TestDetailTabs(t *testing.T) {
	eng, m := fixture()
	m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, ItemsMsg(eng.Items()), keyMsg("down"), keyMsg("enter"))
	if !m.detail || m.torrents.cursor != 1 {
		t.Fatal("enter did not open the second torrent")
	}
	checks := []struct {
		tab  string
		want []string
	}{
		{"Peers", []string{"qBittorrent 4.6.5", "DUOI", "dS", "Transmission"}},
		{"Pieces", []string{"█", "▓", "have", "64 pieces of 1.0 MiB"}},
		{"Trackers", []string{"udp://127.0.0.1:6969/announce", "connection refused"}},
		{"Files", []string{"album/a.flac", "normal"}},
		{"Swarm", []string{"upload slots (1)", "127.0.0.1:6881 optimistic", "DHT: 42 nodes"}},
	}
	for i, c := range checks {
		if i > 0 {
			m = update(t, m, keyMsg("tab"))
		}
		v := m.View()
		for _, want := range c.want {
			if !strings.Contains(v, want) {
				t.Fatalf("%s tab lacks %q:\n%s", c.tab, want, v)
			}
		}
		fitsIn(t, v, 80, 24)
	}
}

func TestCommandsGoToTheEngine(t *testing.T) {
	eng, m := fixture()
	m = update(t, m, ItemsMsg(eng.Items()), keyMsg("p"))
	if len(eng.paused) != 1 || eng.paused[0] != 0 {
		t.Fatalf("pause: %v", eng.paused)
	}
	// Files tab: f cycles the selected file's priority.
	m = update(t, m, keyMsg("enter"), keyMsg("tab"), keyMsg("tab"), keyMsg("tab"), keyMsg("down"), keyMsg("f"))
	if len(eng.priority) != 1 || eng.priority[0] != "high" || m.files.cursor != 1 {
		t.Fatalf("priority: %v (file %d)", eng.priority, m.files.cursor)
	}
	eng.items[0].Snap.State = swarm.StatePaused
	m = update(t, m, ItemsMsg(eng.Items()), keyMsg("p"))
	if len(eng.resumed) != 1 {
		t.Fatal("p on a paused torrent did not resume it")
	}
}

func TestHelpAndQuit(t *testing.T) {
	eng, m := fixture()
	m = update(t, m, ItemsMsg(eng.Items()), keyMsg("?"))
	v := m.View()
	for _, want := range []string{"Keys", "pause/resume", "file priority", "next tab", "quit"} {
		if !strings.Contains(v, want) {
			t.Fatalf("help lacks %q:\n%s", want, v)
		}
	}
	m = update(t, m, keyMsg("x"))
	if m.showHelp {
		t.Fatal("help overlay did not close")
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q did not quit")
	}
}

func TestSparklineAndResize(t *testing.T) {
	eng, m := fixture()
	for i := range 30 {
		eng.items[1].Snap = snapshot("album", swarm.StateDownloading, 0.4)
		eng.items[1].Snap.DownRate = float64(i) * 1e5
		m = update(t, m, ItemsMsg(eng.Items()))
	}
	m = update(t, m, tea.WindowSizeMsg{Width: 60, Height: 15}, keyMsg("down"), keyMsg("enter"))
	for range 4 {
		m = update(t, m, keyMsg("tab"))
	}
	v := m.View()
	if !strings.Contains(v, "▁") || !strings.Contains(v, "█") {
		t.Fatalf("no sparkline:\n%s", v)
	}
	fitsIn(t, v, 60, 15)
}

func TestRemoveAsksFirstAndLimitsCycle(t *testing.T) {
	eng, m := fixture()
	m = update(t, m, ItemsMsg(eng.Items()), keyMsg("x"))
	if !strings.Contains(m.View(), "remove seeder?") {
		t.Fatalf("no confirmation:\n%s", m.View())
	}
	m = update(t, m, keyMsg("n"))
	if len(eng.removed) != 0 {
		t.Fatal("removed without a y")
	}
	m = update(t, m, keyMsg("j"), keyMsg("x"), keyMsg("y"))
	if len(eng.removed) != 1 || eng.removed[0] != 1 || len(m.items) != 1 {
		t.Fatalf("removed %v, %d left", eng.removed, len(m.items))
	}
	m = update(t, m, keyMsg("U"), keyMsg("U"), keyMsg("D"))
	if eng.up != 1<<20 || eng.down != 256<<10 {
		t.Fatalf("limits %d/%d", eng.down, eng.up)
	}
	m = update(t, m, ItemsMsg(eng.Items()))
	if v := m.View(); !strings.Contains(v, "↓ 256 KiB/s") || !strings.Contains(v, "↑ 1.0 MiB/s") {
		t.Fatalf("limits not shown:\n%s", v)
	}
}

func TestTrackerView(t *testing.T) {
	st := TrackerStats{Torrents: 2, Seeders: 3, Leechers: 1200, AnnouncesPerSecond: 12.5, Uptime: time.Hour,
		Swarms: []TrackerSwarm{{InfoHash: strings.Repeat("ab", 20), Seeders: 3, Leechers: 1200, Completed: 7}}}
	m := NewTracker("http://127.0.0.1:6969/stats", func() (TrackerStats, error) { return st, nil }, time.Second)
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	next, cmd := next.Update(m.poll())
	if cmd == nil {
		t.Fatal("no next poll scheduled")
	}
	v := next.View()
	for _, want := range []string{"1,200 leechers", "announces 12.5/s", strings.Repeat("ab", 20), "7"} {
		if !strings.Contains(v, want) {
			t.Fatalf("tracker view lacks %q:\n%s", want, v)
		}
	}
	fitsIn(t, v, 80, 24)
}

func TestAddRemoveWithDataAndRequeue(t *testing.T) {
	eng, m := fixture()
	// a opens the prompt; a pasted magnet link arrives as one message.
	m = update(t, m, ItemsMsg(eng.Items()), keyMsg("a"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("magnet:?xt=urn:btih:abc"), Paste: true})
	if v := m.View(); !strings.Contains(v, "add: magnet:?xt=urn:btih:abc") {
		t.Fatalf("prompt not shown:\n%s", v)
	}
	m = update(t, m, keyMsg("enter"))
	if len(eng.added) != 1 || eng.added[0] != "magnet:?xt=urn:btih:abc" || !strings.Contains(m.View(), "added magnet:") {
		t.Fatalf("added %v:\n%s", eng.added, m.View())
	}
	// A refusal is said on the status line; esc cancels a prompt.
	m = update(t, m, keyMsg("a"), keyMsg("bad.torrent"), keyMsg("enter"))
	if !strings.Contains(m.View(), "error: not a torrent") {
		t.Fatalf("refusal not shown:\n%s", m.View())
	}
	m = update(t, m, keyMsg("a"), keyMsg("x"), keyMsg("esc"))
	if len(eng.added) != 1 || m.adding {
		t.Fatalf("esc added %v", eng.added)
	}
	// ] and [ move the selected torrent in the queue.
	m = update(t, m, keyMsg("j"), keyMsg("]"), keyMsg("["))
	if fmt.Sprint(eng.requeued) != "[1 1 1 -1]" || !strings.Contains(m.View(), "moved leecher 1 up the queue") {
		t.Fatalf("requeued %v:\n%s", eng.requeued, m.View())
	}
	// x then d removes and deletes the files.
	m = update(t, m, keyMsg("x"), keyMsg("d"))
	if fmt.Sprint(eng.deleted) != "[1]" || len(m.items) != 1 || !strings.Contains(m.View(), "deleted its files") {
		t.Fatalf("deleted %v, %d left:\n%s", eng.deleted, len(m.items), m.View())
	}
}

// An optimistic peer outside the upload slots is listed even when its
// address is a substring of a slot holder's (it was matched by substring).
func TestOptimisticPeerBesideASimilarSlotAddress(t *testing.T) {
	_, m := fixture()
	s := snapshot("album", swarm.StateDownloading, 0.4)
	s.UploadSlots = []string{"110.0.0.1:8080"}
	s.Peers = append(s.Peers, swarm.PeerSnapshot{Addr: "10.0.0.1:80", Optimistic: true})
	m.width = 200
	lines := strings.Join(m.slotLines(Item{Label: "x", Snap: s}), "\n")
	if !strings.Contains(lines, "10.0.0.1:80 optimistic") {
		t.Fatalf("the optimistic peer is missing from:\n%s", lines)
	}
}
