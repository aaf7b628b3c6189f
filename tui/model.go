package tui

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// Tabs of the detail view.
const (
	tabPeers = iota
	tabPieces
	tabTrackers
	tabFiles
	tabSwarm
	numTabs
)

var tabNames = [numTabs]string{"Peers", "Pieces", "Trackers", "Files", "Swarm"}

// historyLen is how many samples the rate graphs keep (one a poll).
const historyLen = 240

// Model is the UI's state. Update returns a new state for each message;
// it holds copies of snapshots, never engine objects.
type Model struct {
	engine   Engine
	keys     keyMap
	interval time.Duration

	items []Item
	// order holds the indices into items the list shows, filtered and
	// sorted; the cursor moves over it. Engine commands take items'
	// index, never the cursor.
	order    []int
	torrents scroller
	// selKey keeps the cursor on the same torrent when a re-sort or a
	// new torrent moves it.
	selKey    string
	listSort  int
	filter    string
	filtering bool

	detail   bool
	tab      int
	peerSort int
	peers    scroller
	peerAddr string
	files    scroller
	trackers scroller
	// digits draws the piece map as rtorrent's 0–F availability digits
	// rather than shaded blocks.
	blocks bool

	showHelp bool
	// adding is true while a torrent's path or magnet link is typed
	// (or pasted) into source.
	adding bool
	source string
	// status is the last command's outcome, shown until the next key.
	status string
	// confirm holds the items index of a torrent awaiting "y" to be
	// removed.
	confirm int
	limDown int64
	limUp   int64
	// limWait counts the snapshots the limits just set are kept before
	// the engine's word wins (it should agree by then).
	limWait int
	width   int
	height  int
	// down and up hold recent rates per torrent, for the graphs.
	down, up map[string][]float64
	pending  pending
	slots    map[string]slotChange
	quitting bool
	// lastState is each torrent's state in the last snapshots, to see
	// it finish; noticeText says which did, for noticeLeft more polls.
	lastState  map[string]swarm.State
	noticeText string
	noticeLeft int
	// bell, when set, gets a BEL when a torrent finishes.
	bell io.Writer
	// peerHist holds recent rates per peer, by torrent and address.
	peerHist map[string]peerRates
	th       theme
}

// slotChange remembers when a torrent's upload slots last changed.
type slotChange struct {
	set string
	at  time.Time
}

// New returns a model polling engine every interval.
func New(engine Engine, interval time.Duration) Model {
	return Model{engine: engine, keys: defaultKeys(), interval: interval, width: 80, height: 24,
		down: map[string][]float64{}, up: map[string][]float64{}, confirm: -1,
		pending: newPending(), slots: map[string]slotChange{}, th: defaultTheme()}
}

// tickMsg asks the model to read fresh snapshots.
type tickMsg time.Time

// ItemsMsg delivers snapshots; tests send it directly.
type ItemsMsg []Item

// StatusMsg is a command's outcome (added, removed, or why not), shown
// on the status line.
type StatusMsg string

// engineCmd runs a command that may block (a daemon far away) off the
// UI's goroutine and reports how it went.
func (m Model) engineCmd(fn func() error, done string) tea.Cmd {
	return func() tea.Msg {
		if err := fn(); err != nil {
			return StatusMsg("error: " + err.Error())
		}
		return StatusMsg(done)
	}
}

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.interval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init implements tea.Model.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.poll, m.tick())
}

func (m Model) poll() tea.Msg { return ItemsMsg(m.engine.Items()) }

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		return m, tea.Batch(m.poll, m.tick())
	case ItemsMsg:
		m = m.receive(msg)
		m, cmd = m.notice(msg)
	case StatusMsg:
		m.status = string(msg)
		return m.settle(), m.poll // show the command's effect at once
	case tea.MouseMsg:
		m = m.mouse(msg)
	case tea.KeyMsg:
		// Keys typed quickly arrive in one read and bubbletea hands them
		// over as one message of several runes ("jj"): each is a key.
		if msg.Type == tea.KeyRunes && !msg.Paste && len(msg.Runes) > 1 && !m.filtering && !m.adding {
			for _, r := range msg.Runes {
				var c tea.Cmd
				m, c = m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmd = tea.Batch(cmd, c)
			}
		} else {
			m, cmd = m.key(msg)
		}
	}
	return m.settle(), cmd
}

func (m Model) receive(items []Item) Model {
	m.items = items
	down, up := m.engine.Limits()
	if m.limWait > 0 && (down != m.limDown || up != m.limUp) {
		m.limWait--
	} else {
		m.limDown, m.limUp, m.limWait = down, up, 0
	}
	m.pending = m.pending.confirm(items)
	m = m.recordPeers(items)
	for _, it := range m.items {
		if it.Snap == nil {
			continue
		}
		k := itemKey(it)
		m.down[k] = appendBounded(m.down[k], it.Snap.DownRate, historyLen)
		m.up[k] = appendBounded(m.up[k], it.Snap.UpRate, historyLen)
		set := ""
		for _, a := range it.Snap.UploadSlots {
			set += a + " "
		}
		if sc, ok := m.slots[k]; !ok || sc.set != set {
			m.slots[k] = slotChange{set: set, at: it.Snap.At}
		}
	}
	return m
}

func itemKey(it Item) string {
	if it.Snap == nil {
		return it.Label
	}
	return it.Snap.InfoHash + " " + it.Label
}

// mouse scrolls the list under the wheel.
func (m Model) mouse(msg tea.MouseMsg) Model {
	if msg.Action != tea.MouseActionPress {
		return m
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		m = m.move(-3)
	case tea.MouseButtonWheelDown:
		m = m.move(3)
	}
	return m
}

func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	m.status = ""
	if m.confirm >= 0 {
		var cmd tea.Cmd
		if s := msg.String(); (s == "y" || s == "d") && m.confirm < len(m.items) {
			i, name, del := m.confirm, m.items[m.confirm].Label, s == "d"
			done := "removed " + name + ", its files kept"
			if del {
				done = "removed " + name + " and deleted its files"
			}
			cmd = m.engineCmd(func() error { return m.engine.Remove(i, del) }, done)
			m.items = append(m.items[:i:i], m.items[i+1:]...)
			m.detail = false
		}
		m.confirm = -1 // any other key cancels
		return m, cmd
	}
	if m.filtering {
		return m.filterKey(msg), nil
	}
	if m.adding {
		return m.addKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case m.showHelp:
		m.showHelp = false // any other key closes the overlay
	case key.Matches(msg, k.Filter) && !m.detail:
		m.filtering = true
	case key.Matches(msg, k.Enter):
		if m.selected() != nil && !m.detail {
			// A torrent's lists start at their tops.
			m.detail = true
			m.peers, m.files, m.trackers, m.peerAddr = scroller{}, scroller{}, scroller{}, ""
		}
	case key.Matches(msg, k.Back):
		if m.detail {
			m.detail = false
		} else {
			m.filter = ""
		}
	case key.Matches(msg, k.NextTab) && m.detail:
		m.tab = (m.tab + 1) % numTabs
	case key.Matches(msg, k.PrevTab) && m.detail:
		m.tab = (m.tab + numTabs - 1) % numTabs
	case key.Matches(msg, k.Up):
		m = m.move(-1)
	case key.Matches(msg, k.Down):
		m = m.move(1)
	case key.Matches(msg, k.PageUp):
		m = m.move(-max(m.listRows()-1, 1))
	case key.Matches(msg, k.PageDown):
		m = m.move(max(m.listRows()-1, 1))
	case key.Matches(msg, k.Home):
		m = m.move(-1 << 30)
	case key.Matches(msg, k.End):
		m = m.move(1 << 30)
	case key.Matches(msg, k.Sort):
		if m.detail && m.tab == tabPeers {
			m.peerSort = (m.peerSort + 1) % len(peerSorts)
		} else if !m.detail {
			m.listSort = (m.listSort + 1) % len(listSorts)
		}
	case key.Matches(msg, k.Blocks) && m.detail && m.tab == tabPieces:
		m.blocks = !m.blocks
	case key.Matches(msg, k.Pause):
		if it, i := m.selected(), m.selectedIndex(); it != nil {
			if m.pending.state(*it) == "paused" {
				m.engine.Resume(i)
				m.pending = m.pending.setState(itemKey(*it), stateResuming)
			} else {
				m.engine.Pause(i)
				m.pending = m.pending.setState(itemKey(*it), "paused")
			}
		}
	case key.Matches(msg, k.Remove):
		if m.selected() != nil {
			m.confirm = m.selectedIndex()
		}
	case key.Matches(msg, k.Add) && !m.detail:
		m.adding, m.source = true, ""
	case key.Matches(msg, k.QueueUp), key.Matches(msg, k.QueueDown):
		if it, i := m.selected(), m.selectedIndex(); it != nil {
			delta, where, end := -1, "up", "first"
			if key.Matches(msg, k.QueueDown) {
				delta, where, end = 1, "down", "last"
			}
			label := it.Label
			return m, func() tea.Msg {
				switch err := m.engine.Requeue(i, delta); {
				case errors.Is(err, ErrQueueEnd):
					return StatusMsg(label + " is already " + end + " in the queue")
				case err != nil:
					return StatusMsg("error: " + err.Error())
				}
				return StatusMsg("moved " + label + " " + where + " the queue")
			}
		}
	case key.Matches(msg, k.UpLimit):
		m.limUp, m.limWait = nextLimit(m.limUp), pendingPolls
		m.engine.SetLimits(m.limDown, m.limUp)
	case key.Matches(msg, k.DownLimit):
		m.limDown, m.limWait = nextLimit(m.limDown), pendingPolls
		m.engine.SetLimits(m.limDown, m.limUp)
	case key.Matches(msg, k.Priority) && m.detail && m.tab == tabFiles:
		if it := m.selected(); it != nil && m.files.cursor < len(it.Snap.Files) {
			f := m.files.cursor
			// The next priority follows what the screen shows, which
			// includes presses the engine has not confirmed yet.
			cur := m.pending.filePriority(*it, f)
			next := map[string]string{"normal": "high", "high": "skip", "skip": "normal", "low": "normal"}[cur]
			m.engine.SetFilePriority(m.selectedIndex(), f, next)
			m.pending = m.pending.setFile(itemKey(*it), f, next)
		}
	}
	return m, nil
}

func (m Model) filterKey(msg tea.KeyMsg) Model {
	switch msg.Type {
	case tea.KeyEnter:
		m.filtering = false
	case tea.KeyEsc:
		m.filtering, m.filter = false, ""
	case tea.KeyBackspace:
		if r := []rune(m.filter); len(r) > 0 {
			m.filter = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		m.filter += string(msg.Runes)
	}
	m.torrents.cursor = 0
	return m
}

// addKey edits the path or magnet link being added; enter adds it.
func (m Model) addKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch msg.Type {
	case tea.KeyEnter:
		m.adding = false
		src := strings.TrimSpace(m.source)
		if src == "" {
			return m, nil
		}
		return m, m.engineCmd(func() error { return m.engine.Add(src) }, "added "+src)
	case tea.KeyEsc:
		m.adding, m.source = false, ""
	case tea.KeyBackspace:
		if r := []rune(m.source); len(r) > 0 {
			m.source = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		m.source += string(msg.Runes)
	}
	return m, nil
}

// move moves the cursor of the list on screen by n rows.
func (m Model) move(n int) Model {
	switch {
	case !m.detail:
		m.torrents.cursor += n
		m.selKey = ""
		if c := m.torrents.cursor; c >= 0 && c < len(m.order) {
			m.selKey = itemKey(m.items[m.order[c]])
		}
	case m.tab == tabPeers:
		m.peers.cursor += n
		m.peerAddr = ""
	case m.tab == tabFiles:
		m.files.cursor += n
	case m.tab == tabTrackers:
		m.trackers.cursor += n
	}
	return m
}

// selected is the torrent under the cursor.
func (m Model) selected() *Item {
	if i := m.selectedIndex(); i >= 0 && m.items[i].Snap != nil {
		return &m.items[i]
	}
	return nil
}

// selectedIndex is the engine's index of the torrent under the cursor,
// or -1.
func (m Model) selectedIndex() int {
	if c := m.torrents.cursor; c >= 0 && c < len(m.order) && m.order[c] < len(m.items) {
		return m.order[c]
	}
	return -1
}

// limitSteps are the presets U and D cycle through (0: unlimited).
var limitSteps = []int64{0, 256 << 10, 1 << 20, 5 << 20, 20 << 20}

func nextLimit(cur int64) int64 {
	for i, v := range limitSteps {
		if v == cur {
			return limitSteps[(i+1)%len(limitSteps)]
		}
	}
	return 0
}
