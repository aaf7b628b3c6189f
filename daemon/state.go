// Package daemon is shoal's long-lived session: one swarm.Session running
// many torrents, with a torrent list and per-torrent settings that survive
// restarts (and kill -9), queueing, and the operations remote clients ask
// for. It knows nothing of any wire protocol; rpc/ speaks Transmission's
// RPC over it.
package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
)

// stateFile is the daemon's torrent list in the state directory.
const stateFile = "daemon.json"

// stateVersion is bumped when the file's meaning changes.
const stateVersion = 1

// Entry is one torrent's persistent record: everything needed to bring it
// back after a restart exactly as it was left. The metainfo itself lives
// beside it as INFOHASH.torrent (the name get uses for magnets too), and
// the piece state as INFOHASH.resume, written by the swarm.
type Entry struct {
	ID       int    `json:"id"`
	InfoHash string `json:"info_hash"`
	// Name is the metainfo's name, or the magnet's dn until the metadata
	// arrives.
	Name string `json:"name"`
	// Magnet is set while the metadata is still to be fetched.
	Magnet string `json:"magnet,omitempty"`
	Dir    string `json:"dir"`
	// MoveTo is set while the data moves to the complete directory.
	MoveTo   string `json:"move_to,omitempty"`
	Paused   bool   `json:"paused"`
	QueuePos int    `json:"queue_pos"`
	// Priorities holds skip, low, normal or high per file (pad files not
	// counted); empty means all normal.
	Priorities []string `json:"priorities,omitempty"`
	SeedRatio  float64  `json:"seed_ratio,omitempty"` // 0: seed until stopped
	// DownLimit and UpLimit are the torrent's own rate limits in bytes
	// per second, within the session's; 0: none of its own.
	DownLimit  int64     `json:"down_limit,omitempty"`
	UpLimit    int64     `json:"up_limit,omitempty"`
	Sequential bool      `json:"sequential,omitempty"`
	Added      time.Time `json:"added"`
	Done       time.Time `json:"done,omitzero"`
	// Uploaded and Downloaded are the totals of earlier runs; the running
	// torrent's counters add to them.
	Uploaded   int64 `json:"uploaded,omitempty"`
	Downloaded int64 `json:"downloaded,omitempty"`
}

// state is the file's content.
type state struct {
	Version  int     `json:"version"`
	NextID   int     `json:"next_id"`
	Torrents []Entry `json:"torrents"`
	// Session holds what session-set changed, and the options given at
	// the last start, as transmission-daemon keeps settings.json.
	Session SessionSettings `json:"session,omitzero"`
}

// loadState reads the torrent list; a missing file is an empty list.
func loadState(dir string) (state, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return state{Version: stateVersion, NextID: 1}, nil
	}
	if err != nil {
		return state{}, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return state{}, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	if st.Version != stateVersion {
		return state{}, fmt.Errorf("%s: version %d, this shoal reads %d", filepath.Join(dir, stateFile), st.Version, stateVersion)
	}
	if st.NextID < 1 {
		st.NextID = 1
	}
	for _, e := range st.Torrents {
		if e.ID >= st.NextID {
			st.NextID = e.ID + 1
		}
	}
	return st, nil
}

// saveState writes the list so that a crash at any instant leaves either
// the old file or the new one: a temporary file, fsynced, renamed over the
// old, and the directory fsynced so the rename itself survives.
func saveState(dir string, st state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, stateFile), data, 0o600)
}
