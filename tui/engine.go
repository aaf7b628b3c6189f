// Package tui is shoal's terminal UI: a bubbletea program that shows what
// the engine publishes (torrents, peers, pieces, trackers, files, rates) and
// sends it commands. It reads snapshots and never touches engine state, so
// a slow terminal cannot slow a swarm.
package tui

import "github.com/shoal-torrent/shoal/swarm"

// Item is one torrent as the UI shows it: a label (the torrent's name, or
// a role in the demo) and its latest snapshot.
type Item struct {
	Label string
	Snap  *swarm.Snapshot
}

// Engine is what the UI needs from whatever runs torrents: a live engine
// in this process, or one reached over a control socket.
type Engine interface {
	// Items returns the latest snapshot of every torrent.
	Items() []Item
	// Pause and Resume stop and restart torrent i's transfers.
	Pause(i int)
	Resume(i int)
	// SetFilePriority sets file f of torrent i to "skip", "normal" or
	// "high".
	SetFilePriority(i, f int, priority string)
	// Remove stops torrent i and drops it from the list; its files stay.
	Remove(i int)
	// Limits and SetLimits read and change the rate limits in bytes per
	// second (0: unlimited).
	Limits() (down, up int64)
	SetLimits(down, up int64)
}
