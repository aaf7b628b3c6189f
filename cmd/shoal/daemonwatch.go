package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/tui"
)

// daemonEngine lets shoal watch attach to the daemon through the control
// socket, as it attaches to get and seed: the UI's row numbers map to the
// daemon's ids as of the last Items.
type daemonEngine struct {
	d   *daemon.Daemon
	mu  sync.Mutex // guards ids and added
	ids []int
	// added is each torrent's stored added time by id, read once per
	// new id.
	added map[int]time.Time
}

func (e *daemonEngine) Items() []tui.Item {
	items, err := e.d.Snapshots()
	if err != nil {
		return nil
	}
	added := e.addedTimes(items)
	out := make([]tui.Item, len(items))
	ids := make([]int, len(items))
	for i, it := range items {
		out[i] = tui.Item{Label: fmt.Sprintf("%d %s", it.ID, it.Snap.Name), Snap: it.Snap, Added: added[i]}
		ids[i] = it.ID
	}
	e.mu.Lock()
	e.ids = ids
	e.mu.Unlock()
	return out
}

// addedTimes says when each torrent was added to the daemon's list,
// asking the daemon only when a torrent is new.
func (e *daemonEngine) addedTimes(items []daemon.Item) []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.added == nil {
		e.added = map[int]time.Time{}
	}
	for _, it := range items {
		if _, ok := e.added[it.ID]; ok {
			continue
		}
		sts, err := e.d.Torrents(nil, false)
		if err != nil {
			break
		}
		for _, st := range sts {
			e.added[st.ID] = st.Added
		}
		for _, it := range items {
			if _, ok := e.added[it.ID]; !ok {
				e.added[it.ID] = time.Time{} // gone meanwhile: not asked again
			}
		}
		break
	}
	out := make([]time.Time, len(items))
	for i, it := range items {
		out[i] = e.added[it.ID]
	}
	return out
}

// id maps a UI row to a daemon id; false when the row is gone.
func (e *daemonEngine) id(i int) ([]int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.ids) {
		return nil, false
	}
	return []int{e.ids[i]}, true
}

// The commands run in their own goroutines: the UI never waits.

func (e *daemonEngine) Pause(i int) {
	if ids, ok := e.id(i); ok {
		go e.d.Stop(ids)
	}
}

func (e *daemonEngine) Resume(i int) {
	if ids, ok := e.id(i); ok {
		go e.d.Start(ids)
	}
}

func (e *daemonEngine) SetFilePriority(i, f int, p string) {
	if ids, ok := e.id(i); ok {
		go e.d.Set(ids, daemon.Settings{Files: map[int]string{f: p}})
	}
}

// errGone is a command on a row the daemon no longer lists.
var errGone = errors.New("that torrent is gone")

func (e *daemonEngine) Remove(i int, deleteData bool) error {
	ids, ok := e.id(i)
	if !ok {
		return errGone
	}
	return e.d.Remove(ids, deleteData)
}

// Add takes a magnet link, or the path of a .torrent file on this machine
// (shoal watch sends it absolute).
func (e *daemonEngine) Add(src string) error {
	req := daemon.AddRequest{}
	if meta.IsMagnet(src) {
		req.Magnet = src
	} else {
		raw, err := readTorrentAt(src)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		req.Metainfo = raw
	}
	st, dup, err := e.d.Add(req)
	if err != nil {
		return err
	}
	if dup {
		return fmt.Errorf("%s is already there (id %d)", st.Name, st.ID)
	}
	return nil
}

func (e *daemonEngine) Requeue(i, delta int) error {
	ids, ok := e.id(i)
	if !ok {
		return errGone
	}
	err := e.d.Requeue(ids[0], delta)
	if errors.Is(err, daemon.ErrQueueEnd) {
		return tui.ErrQueueEnd // the UI says where it is
	}
	return err
}

func (e *daemonEngine) Limits() (int64, int64) {
	info, err := e.d.Session()
	if err != nil {
		return 0, 0
	}
	return info.DownLimit, info.UpLimit
}

func (e *daemonEngine) SetLimits(down, up int64) {
	go e.d.SetSession(daemon.SessionSettings{DownLimit: &down, UpLimit: &up})
}
