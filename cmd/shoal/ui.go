package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm"
	"github.com/shoal-torrent/shoal/tui"
)

// liveEngine lets the UI see and steer torrents running in this process.
// The UI and control-socket clients call it from their own goroutines.
type liveEngine struct {
	mu       sync.Mutex // guards labels, torrents and added
	labels   []string
	torrents []*swarm.Torrent
	// added is when each torrent joined the session, for sorting.
	added []time.Time
}

func newLiveEngine(labels []string, torrents []*swarm.Torrent) *liveEngine {
	e := &liveEngine{}
	for i, t := range torrents {
		e.add(labels[i], t)
	}
	return e
}

func (e *liveEngine) add(label string, t *swarm.Torrent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.labels, e.torrents, e.added = append(e.labels, label), append(e.torrents, t), append(e.added, time.Now())
}

// at returns torrent i, or nil when it is gone.
func (e *liveEngine) at(i int) *swarm.Torrent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.torrents) {
		return nil
	}
	return e.torrents[i]
}

func (e *liveEngine) Items() []tui.Item {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]tui.Item, len(e.torrents))
	for i, t := range e.torrents {
		out[i] = tui.Item{Label: e.labels[i], Snap: t.Snapshot(), Added: e.added[i]}
	}
	return out
}

// The commands run in their own goroutines: the UI never waits on the
// engine.

func (e *liveEngine) Pause(i int) {
	if t := e.at(i); t != nil {
		go t.Pause()
	}
}

func (e *liveEngine) Resume(i int) {
	if t := e.at(i); t != nil {
		go t.Resume()
	}
}

func (e *liveEngine) SetFilePriority(i, f int, p string) {
	if t := e.at(i); t != nil {
		pr := map[string]picker.Priority{"skip": picker.Skip, "normal": picker.Normal, "high": picker.High}[p]
		go t.SetFilePriority(f, pr)
	}
}

// Remove with deleteData is refused: get and seed were pointed at data
// that may be a person's only copy, and never delete it.
func (e *liveEngine) Remove(i int, deleteData bool) error {
	if deleteData {
		return errors.New("get and seed never delete files: remove it with x then y, and delete them yourself")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.torrents) {
		return errors.New("that torrent is gone")
	}
	t := e.torrents[i]
	e.torrents = append(e.torrents[:i:i], e.torrents[i+1:]...)
	e.labels = append(e.labels[:i:i], e.labels[i+1:]...)
	e.added = append(e.added[:i:i], e.added[i+1:]...)
	go t.Stop()
	return nil
}

// Add is the daemon's: get and seed run the torrents they were started
// with.
func (e *liveEngine) Add(string) error {
	return errors.New("this shoal runs only the torrents it was started with: add with shoal daemon and shoal watch")
}

// Requeue is the daemon's: get and seed run every torrent at once.
func (e *liveEngine) Requeue(int, int) error {
	return errors.New("no queue here: get and seed run every torrent at once (shoal daemon queues)")
}

func (e *liveEngine) Limits() (int64, int64) {
	if t := e.at(0); t != nil {
		return t.Session().RateLimits()
	}
	return 0, 0
}

// SetLimits applies to every session shown (the demo runs several).
func (e *liveEngine) SetLimits(down, up int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[*swarm.Session]bool{}
	for _, t := range e.torrents {
		if s := t.Session(); !seen[s] {
			seen[s] = true
			s.SetRateLimits(down, up)
		}
	}
}

// runUI shows the UI until the person quits or ctx ends (a completed
// --no-seed download, say). bell rings the terminal's bell when a
// torrent finishes (--no-bell turns it off).
func runUI(ctx context.Context, eng tui.Engine, bell bool) error {
	m := tui.New(eng, 500*time.Millisecond)
	if noColor() {
		m = m.NoColor()
	}
	if bell {
		m = m.WithBell(os.Stdout) // the terminal the UI draws on
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx))
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil // ended by the caller, not by a failure
	}
	return err
}

// noColor follows https://no-color.org: NO_COLOR set to anything but
// the empty string turns colour off (and only colour).
func noColor() bool { return os.Getenv("NO_COLOR") != "" }

// uiLogger sends logs to a file while the UI owns the screen.
func uiLogger(stateDir string) (*slog.Logger, io.Closer, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, "shoal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), f, nil
}
