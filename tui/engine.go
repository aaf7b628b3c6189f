// Package tui is shoal's terminal UI: a bubbletea program that shows what
// the engine publishes (torrents, peers, pieces, trackers, files, rates) and
// sends it commands. It reads snapshots and never touches engine state, so
// a slow terminal cannot slow a swarm.
package tui

import (
	"errors"
	"time"

	"github.com/shoal-torrent/shoal/swarm"
)

// Item is one torrent as the UI shows it: a label (the torrent's name, or
// a role in the demo), its latest snapshot, and when it was added (to
// the session of get or seed, or to the daemon's list; zero when
// unknown), which s can sort by.
type Item struct {
	Label string
	Snap  *swarm.Snapshot
	Added time.Time
}

// Engine is what the UI needs from whatever runs torrents: a live engine
// in this process, or one reached over a control socket. Pause, Resume,
// SetFilePriority and SetLimits must not block; Remove, Add and Requeue
// may (the UI runs them off its goroutine) and say how they went.
type Engine interface {
	// Items returns the latest snapshot of every torrent.
	Items() []Item
	// Pause and Resume stop and restart torrent i's transfers.
	Pause(i int)
	Resume(i int)
	// SetFilePriority sets file f of torrent i to "skip", "normal" or
	// "high".
	SetFilePriority(i, f int, priority string)
	// Remove stops torrent i and drops it from the list; deleteData
	// deletes its downloaded files too. The error says why not (an engine
	// that keeps files, say).
	Remove(i int, deleteData bool) error
	// Add adds a torrent from a .torrent file's path or a magnet link.
	Add(source string) error
	// Requeue moves torrent i delta places in the queue (negative: it
	// starts sooner). An engine without a queue says so; one whose
	// torrent is already at that end returns ErrQueueEnd.
	Requeue(i, delta int) error
	// Limits and SetLimits read and change the rate limits in bytes per
	// second (0: unlimited).
	Limits() (down, up int64)
	SetLimits(down, up int64)
}

// ErrQueueEnd is Requeue's answer for a torrent already first (moved up)
// or last (moved down): nothing moved, and the status line says where it
// is instead of "moved".
var ErrQueueEnd = errors.New("already at that end of the queue")
