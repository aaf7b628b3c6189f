package daemon

import (
	"slices"
	"strings"
	"time"

	"github.com/shoal-torrent/shoal/swarm"
)

// Torrent states as the daemon reports them: the swarm's, and those of
// torrents not running.
const (
	StateStopped  = "stopped"
	StateQueued   = "queued"
	StateMetadata = "metadata" // fetching a magnet's metainfo
	StateError    = "error"
	StateMoving   = "moving" // to the complete directory
)

// Status is a torrent as callers see it: its settings, and its live state
// when it runs (or the last run's when it does not).
type Status struct {
	ID       int
	InfoHash string
	Name     string
	Magnet   string // the link it was added by, while its metadata is unknown; else its own
	Dir      string
	// State is a swarm.State (checking, downloading, seeding) while the
	// torrent runs, else stopped, queued, metadata or error.
	State      string
	Paused     bool
	QueuePos   int
	Size       int64
	Left       int64
	Progress   float64
	DownRate   float64
	UpRate     float64
	ETA        time.Duration
	Uploaded   int64 // over every run
	Downloaded int64
	Ratio      float64 // Uploaded / Size
	SeedRatio  float64
	// DownLimit and UpLimit are the torrent's own limits (0: none).
	DownLimit, UpLimit int64
	Sequential         bool
	Error              string
	Added              time.Time
	DoneAt             time.Time
	PieceCount         int
	PieceSize          int64
	Private            bool
	Comment            string
	Creator            string
	Created            time.Time
	Seeds              int
	PeerCount          int
	// Wanted and WantedLeft count only the files not skipped, as
	// Transmission's sizeWhenDone and leftUntilDone do; without detail,
	// so a client listing every torrent each second (transmission-remote
	// -l) does not make the daemon build file, peer and tracker lists.
	Wanted, WantedLeft int64
	// With detail only.
	Files    []FileStatus
	Peers    []swarm.PeerSnapshot
	Trackers []swarm.TrackerSnapshot
}

// FileStatus is one file of a torrent, padding files left out.
type FileStatus struct {
	Path     string
	Size     int64
	Done     int64
	Priority string
}

// Wanted says the file is to be downloaded (not skipped).
func (f FileStatus) Wanted() bool { return f.Priority != "skip" }

// Complete says the torrent has everything it wants.
func (s Status) Complete() bool { return s.Size > 0 && s.Left == 0 }

// status builds a Status on the loop.
func (d *Daemon) status(e *entry, detail bool) Status {
	st := Status{ID: e.ID, InfoHash: e.InfoHash, Name: e.Name, Magnet: e.Magnet, Dir: e.Dir, Paused: e.Paused,
		QueuePos: e.QueuePos, Sequential: e.Sequential, Uploaded: e.Uploaded, Downloaded: e.Downloaded, SeedRatio: e.SeedRatio,
		DownLimit: e.DownLimit, UpLimit: e.UpLimit, Added: e.Added, DoneAt: e.Done, Error: e.failed}
	if m := e.m; m != nil {
		st.Size, st.PieceCount, st.PieceSize = m.Layout.DataTotal, m.Layout.NumPieces, m.Layout.PieceLength
		st.Private, st.Comment, st.Creator, st.Created = m.Private, m.Comment, m.CreatedBy, m.CreationDate
		if st.Magnet == "" {
			if e.linkOf != m {
				e.link, e.linkOf = m.Magnet(), m
			}
			st.Magnet = e.link
		}
		st.Left = st.Size - e.have
	}
	snap := e.last
	running := e.t != nil
	if running {
		snap = e.t.Snapshot()
	} else if e.stopping != nil {
		snap = e.stopping.Snapshot()
	}
	if snap != nil {
		st.Seeds, st.PeerCount = snap.Seeds, len(snap.Peers)
		if snap.State != swarm.StateChecking {
			st.Left = snap.Left // a checking torrent's snapshot knows no pieces yet
		}
		if running || e.stopping != nil {
			st.Uploaded += snap.Uploaded
			st.Downloaded += snap.Downloaded
		}
		if running {
			st.DownRate, st.UpRate, st.ETA = snap.DownRate, snap.UpRate, snap.ETA
			if st.Error == "" && snap.State == swarm.StateError {
				st.Error = snap.Error // before the loop stops it
			}
		} else {
			st.PeerCount, st.Seeds = 0, 0
		}
	}
	st.Progress = 1
	if st.Size > 0 {
		st.Progress = float64(st.Size-st.Left) / float64(st.Size)
	} else if e.m == nil {
		st.Progress = 0
	}
	st.Ratio = float64(st.Uploaded) / float64(max(st.Size, 1))
	st.Wanted, st.WantedLeft = st.Size, st.Left
	var prog []swarm.FileSnapshot
	if snap != nil {
		prog = snap.Files
	}
	if m := e.m; m != nil && slices.Contains(e.Priorities, "skip") {
		st.Wanted, st.WantedLeft = 0, 0
		for i, li := range m.Layout.ShownFiles() {
			if i >= len(e.Priorities) || e.Priorities[i] != "skip" {
				n := m.Layout.Files[li].Length
				st.Wanted += n
				st.WantedLeft += n - fileDone(i, n, prog, st.Left)
			}
		}
	}
	if st.Left == 0 {
		st.WantedLeft = 0 // file progress is a share: it may round below whole
	}
	switch {
	case e.failed != "":
		st.State = StateError
	case running:
		st.State = string(snap.State)
	case e.fetch != nil:
		st.State = StateMetadata
	case e.recheck && e.stopping != nil, e.checkOnly:
		st.State = string(swarm.StateChecking)
	case e.moving:
		st.State = StateMoving
	case e.Paused || e.stopping != nil:
		st.State = StateStopped
	default:
		st.State = StateQueued
	}
	if !detail {
		return st
	}
	if running {
		st.Peers = snap.Peers
		st.Trackers = snap.Trackers
	}
	if m := e.m; m != nil {
		for i, li := range m.Layout.ShownFiles() {
			f := m.Layout.Files[li]
			fs := FileStatus{Path: strings.Join(f.Path, "/"), Size: f.Length, Priority: "normal", Done: fileDone(i, f.Length, prog, st.Left)}
			if i < len(e.Priorities) {
				fs.Priority = e.Priorities[i]
			}
			st.Files = append(st.Files, fs)
		}
	}
	return st
}

// fileDone is how many bytes of the i-th (non-pad) file of n bytes are
// verified, from the swarm's file progress, or from the torrent being
// complete when it has none.
func fileDone(i int, n int64, prog []swarm.FileSnapshot, left int64) int64 {
	switch {
	case i < len(prog):
		return int64(prog[i].Progress * float64(n))
	case left == 0:
		return n
	}
	return 0
}

func sortByID(s []Status) {
	slices.SortFunc(s, func(a, b Status) int { return a.ID - b.ID })
}

// Item is one torrent's live snapshot, for the terminal UI.
type Item struct {
	ID   int
	Snap *swarm.Snapshot
}

// Snapshots returns every torrent's latest snapshot by id: the swarm's
// while it runs, else one made from its status (state stopped, queued,
// metadata or error).
func (d *Daemon) Snapshots() ([]Item, error) {
	var out []Item
	err := d.query(func() error {
		for _, e := range d.sorted() {
			if e.removing {
				continue
			}
			if e.t != nil {
				if s := e.t.Snapshot(); s.State != swarm.StateChecking || e.have == 0 {
					out = append(out, Item{ID: e.ID, Snap: s})
					continue
				}
			}
			st := d.status(e, true)
			s := &swarm.Snapshot{Name: st.Name, InfoHash: st.InfoHash, State: swarm.State(st.State), Error: st.Error,
				Size: st.Size, Left: st.Left, Progress: st.Progress, NumPieces: st.PieceCount, PieceLength: st.PieceSize,
				Uploaded: st.Uploaded, Downloaded: st.Downloaded, Ratio: st.Ratio, Private: st.Private}
			for _, f := range st.Files {
				p := 1.0
				if f.Size > 0 {
					p = float64(f.Done) / float64(f.Size)
				}
				s.Files = append(s.Files, swarm.FileSnapshot{Path: f.Path, Size: f.Size, Progress: p, Priority: f.Priority})
			}
			out = append(out, Item{ID: e.ID, Snap: s})
		}
		return nil
	})
	return out, err
}
