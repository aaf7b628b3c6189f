package tui

import (
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
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

// historyLen is how many samples the rate sparklines keep (one a tick).
const historyLen = 120

// Model is the UI's state. Update returns a new state for each message;
// it holds copies of snapshots, never engine objects.
type Model struct {
	engine   Engine
	keys     keyMap
	help     help.Model
	interval time.Duration

	items    []Item
	cursor   int
	detail   bool
	tab      int
	peerSort int
	fileSel  int
	showHelp bool
	// confirm holds the index of a torrent awaiting "y" to be removed.
	confirm int
	limDown int64
	limUp   int64
	width   int
	height  int
	// down and up hold recent rates per torrent, for sparklines.
	down, up map[string][]float64
	quitting bool
}

// New returns a model polling engine every interval.
func New(engine Engine, interval time.Duration) Model {
	h := help.New()
	return Model{engine: engine, keys: defaultKeys(), help: h, interval: interval, width: 80, height: 24,
		down: map[string][]float64{}, up: map[string][]float64{}, confirm: -1}
}

// tickMsg asks the model to read fresh snapshots.
type tickMsg time.Time

// ItemsMsg delivers snapshots; tests send it directly.
type ItemsMsg []Item

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
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
	case tickMsg:
		return m, tea.Batch(m.poll, m.tick())
	case ItemsMsg:
		m.items = msg
		m.limDown, m.limUp = m.engine.Limits()
		for _, it := range m.items {
			if it.Snap == nil {
				continue
			}
			k := it.Snap.InfoHash + it.Label
			m.down[k] = appendHistory(m.down[k], it.Snap.DownRate)
			m.up[k] = appendHistory(m.up[k], it.Snap.UpRate)
		}
		m.cursor = min(m.cursor, max(len(m.items)-1, 0))
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func appendHistory(h []float64, v float64) []float64 {
	h = append(h, v)
	if len(h) > historyLen {
		h = h[len(h)-historyLen:]
	}
	return h
}

func (m Model) key(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if m.confirm >= 0 {
		if msg.String() == "y" && m.confirm < len(m.items) {
			m.engine.Remove(m.confirm)
			m.items = append(m.items[:m.confirm:m.confirm], m.items[m.confirm+1:]...)
			m.cursor = min(m.cursor, max(len(m.items)-1, 0))
			m.detail = false
		}
		m.confirm = -1 // any other key cancels
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case m.showHelp:
		m.showHelp = false // any other key closes the overlay
	case key.Matches(msg, k.Enter):
		if len(m.items) > 0 {
			m.detail = true
		}
	case key.Matches(msg, k.Back):
		m.detail = false
	case key.Matches(msg, k.NextTab) && m.detail:
		m.tab = (m.tab + 1) % numTabs
	case key.Matches(msg, k.PrevTab) && m.detail:
		m.tab = (m.tab + numTabs - 1) % numTabs
	case key.Matches(msg, k.Up):
		if m.detail && m.tab == tabFiles {
			m.fileSel = max(m.fileSel-1, 0)
		} else if !m.detail {
			m.cursor = max(m.cursor-1, 0)
		}
	case key.Matches(msg, k.Down):
		if m.detail && m.tab == tabFiles {
			if s := m.selected(); s != nil {
				m.fileSel = min(m.fileSel+1, max(len(s.Snap.Files)-1, 0))
			}
		} else if !m.detail {
			m.cursor = min(m.cursor+1, max(len(m.items)-1, 0))
		}
	case key.Matches(msg, k.Sort) && m.detail && m.tab == tabPeers:
		m.peerSort = (m.peerSort + 1) % len(peerSorts)
	case key.Matches(msg, k.Pause):
		if s := m.selected(); s != nil {
			if s.Snap.State == "paused" {
				m.engine.Resume(m.cursor)
			} else {
				m.engine.Pause(m.cursor)
			}
		}
	case key.Matches(msg, k.Remove):
		if m.selected() != nil {
			m.confirm = m.cursor
		}
	case key.Matches(msg, k.UpLimit):
		m.limUp = nextLimit(m.limUp)
		m.engine.SetLimits(m.limDown, m.limUp)
	case key.Matches(msg, k.DownLimit):
		m.limDown = nextLimit(m.limDown)
		m.engine.SetLimits(m.limDown, m.limUp)
	case key.Matches(msg, k.Priority) && m.detail && m.tab == tabFiles:
		if s := m.selected(); s != nil && m.fileSel < len(s.Snap.Files) {
			next := map[string]string{"normal": "high", "high": "skip", "skip": "normal"}[s.Snap.Files[m.fileSel].Priority]
			m.engine.SetFilePriority(m.cursor, m.fileSel, next)
		}
	}
	return m, nil
}

func (m Model) selected() *Item {
	if m.cursor < len(m.items) && m.items[m.cursor].Snap != nil {
		return &m.items[m.cursor]
	}
	return nil
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
