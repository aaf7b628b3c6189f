package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/piece/picker"
	"github.com/shoal-torrent/shoal/swarm"
	"github.com/shoal-torrent/shoal/tui"
)

// liveEngine lets the UI see and steer torrents running in this process.
type liveEngine struct {
	labels   []string
	torrents []*swarm.Torrent
}

func (e *liveEngine) Items() []tui.Item {
	out := make([]tui.Item, len(e.torrents))
	for i, t := range e.torrents {
		out[i] = tui.Item{Label: e.labels[i], Snap: t.Snapshot()}
	}
	return out
}

func (e *liveEngine) Pause(i int) {
	if i < len(e.torrents) {
		go e.torrents[i].Pause() // never block the UI on the engine
	}
}

func (e *liveEngine) Resume(i int) {
	if i < len(e.torrents) {
		go e.torrents[i].Resume()
	}
}

func (e *liveEngine) SetFilePriority(i, f int, p string) {
	if i >= len(e.torrents) {
		return
	}
	pr := map[string]picker.Priority{"skip": picker.Skip, "normal": picker.Normal, "high": picker.High}[p]
	go e.torrents[i].SetFilePriority(f, pr)
}

// runUI shows the UI until the person quits or ctx ends (a completed
// --no-seed download, say).
func runUI(ctx context.Context, eng tui.Engine) error {
	p := tea.NewProgram(tui.New(eng, 500*time.Millisecond), tea.WithAltScreen(), tea.WithContext(ctx))
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil // ended by the caller, not by a failure
	}
	return err
}

// uiLogger sends logs to a file while the UI owns the screen.
func uiLogger(stateDir string) (*slog.Logger, io.Closer, string, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, nil, "", err
	}
	path := filepath.Join(stateDir, "shoal.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), f, path, nil
}
