package daemon

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// QueueItem is what the queue policy knows of one torrent.
type QueueItem struct {
	ID  int
	Pos int // queue position, lower runs first
	// Paused torrents never run; Failed ones wait for a person to start
	// them again (their files changed, the disk failed).
	Paused, Failed bool
	// Complete torrents are seeds and count against the seed limit;
	// the others (magnets still fetching metadata too) are downloads.
	Complete bool
	// Running says the torrent runs now; ActiveAt is when it last moved
	// data (or started), for the stalled rule.
	Running  bool
	ActiveAt time.Time
}

// QueueLimits bounds how many torrents run at once; 0 means no bound.
type QueueLimits struct {
	Downloads, Seeds int
	// StalledAfter frees a download's slot when it has moved nothing for
	// this long, so a dead torrent does not hold the queue (Transmission's
	// queue-stalled-minutes); 0 disables the rule.
	StalledAfter time.Duration
}

// stalled says whether a running download has moved nothing for too
// long to hold its slot.
func (l QueueLimits) stalled(running bool, activeAt, now time.Time) bool {
	return running && l.StalledAfter > 0 && now.Sub(activeAt) > l.StalledAfter
}

// Plan decides which torrents run: by queue position, the first
// Downloads downloads and the first Seeds seeds. A running download that
// has stalled keeps running but does not count, so the next one starts.
func Plan(items []QueueItem, lim QueueLimits, now time.Time) map[int]bool {
	// Position then ID is a total order, so an unstable sort does; the
	// daemon passes its list already sorted, and it is only checked.
	byPos := func(a, b QueueItem) int {
		if a.Pos != b.Pos {
			return a.Pos - b.Pos
		}
		return a.ID - b.ID
	}
	sorted := items
	if !slices.IsSortedFunc(items, byPos) {
		sorted = slices.Clone(items)
		slices.SortFunc(sorted, byPos)
	}
	run := make(map[int]bool, len(items))
	downs, seeds := 0, 0
	for _, it := range sorted {
		if it.Paused || it.Failed {
			continue
		}
		if it.Complete {
			if lim.Seeds == 0 || seeds < lim.Seeds {
				seeds++
				run[it.ID] = true
			}
			continue
		}
		if lim.stalled(it.Running, it.ActiveAt, now) {
			run[it.ID] = true
			continue
		}
		if lim.Downloads == 0 || downs < lim.Downloads {
			downs++
			run[it.ID] = true
		}
	}
	return run
}

// ErrQueueEnd is Requeue's answer for a torrent already first (moving
// up) or last (moving down): nothing moved.
var ErrQueueEnd = errors.New("already at that end of the queue")

// Requeue moves torrent id by delta places in the queue (negative: to the
// front, so it starts sooner), clamped at either end; at the end already
// it is ErrQueueEnd. Positions are renumbered from 0, so the torrents stay
// in a strict order.
func (d *Daemon) Requeue(id, delta int) error {
	var stuck bool
	err := d.forEach([]int{id}, func(e *entry) {
		order := d.sorted()
		from := slices.Index(order, e)
		to := min(max(from+delta, 0), len(order)-1)
		if stuck = to == from && delta != 0; stuck {
			return
		}
		order = slices.Delete(order, from, from+1)
		order = slices.Insert(order, to, e)
		for i, o := range order {
			o.QueuePos = i
		}
	})
	if err == nil && stuck {
		err = fmt.Errorf("torrent %d is %w", id, ErrQueueEnd)
	}
	return err
}
