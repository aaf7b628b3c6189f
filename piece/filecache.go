package piece

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// DefaultSessionOpenFiles is the bound a session puts on the data files
// all its torrents hold open together. A session seeding 10,000 torrents
// must not keep a descriptor per torrent: idle torrents hold none, and a
// busy one takes its files from this shared pool as it reads.
const DefaultSessionOpenFiles = 512

// maxIdleRoots is how many save directories stay open with no storage
// operation using them, so the next open in a common download directory
// costs no extra system call.
const maxIdleRoots = 8

// FileCache is a bounded set of open file descriptors that any number of
// FileStorages share. A hit takes only the owning storage's lock; the
// cache's own lock is taken on a miss (open, evict) and on close, never per
// block read from an already open file. Eviction is the CLOCK
// approximation of least recently used: a hit sets the handle's reference
// bit, and the sweep evicts the first idle handle whose bit is clear.
type FileCache struct {
	max       int
	idleRoots int // roots kept open with no operation using them

	mu      sync.Mutex // guards ring, hand, pending, roots, rootClock
	ring    []*handle  // every handle the cache counts, in sweep order
	hand    int
	pending int // slots reserved by opens in progress
	roots   map[string]*rootEntry
	clock   uint64
}

type rootEntry struct {
	r    *os.Root
	refs int
	used uint64
}

// NewFileCache returns a cache that keeps at most max data files open
// (briefly more when every one is in use); max < 1 means
// DefaultSessionOpenFiles.
func NewFileCache(max int) *FileCache {
	if max < 1 {
		max = DefaultSessionOpenFiles
	}
	return &FileCache{max: max, idleRoots: maxIdleRoots, roots: map[string]*rootEntry{}}
}

// Open reports how many data files the cache holds open, for tests and
// status lines.
func (c *FileCache) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring)
}

// root opens dir as an os.Root, or shares the one already open, until
// the matching releaseRoot.
func (c *FileCache) root(dir string) (*os.Root, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	if e, ok := c.roots[dir]; ok {
		e.refs++
		e.used = c.clock
		return e.r, nil
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open download directory: %w", err)
	}
	c.roots[dir] = &rootEntry{r: r, refs: 1, used: c.clock}
	return r, nil
}

// releaseRoot ends a use of dir's root and closes the oldest idle roots
// beyond the cache's allowance.
func (c *FileCache) releaseRoot(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.roots[dir]; ok {
		e.refs--
	}
	idle := 0
	for _, e := range c.roots {
		if e.refs == 0 {
			idle++
		}
	}
	for ; idle > c.idleRoots; idle-- {
		var victim string
		oldest := ^uint64(0)
		for d, e := range c.roots {
			if e.refs == 0 && e.used < oldest {
				victim, oldest = d, e.used
			}
		}
		c.roots[victim].r.Close()
		delete(c.roots, victim)
	}
}

// reserve makes room for one more handle, evicting idle ones, and counts
// the slot as taken until add or unreserve. Victims are synced and closed
// after the cache's lock is released: one slow fsync of a dirty file must
// not stall every other torrent's opens.
func (c *FileCache) reserve() {
	var victims []*handle
	c.mu.Lock()
	// Two passes clear every reference bit once; a third finding
	// nothing means every handle is busy: exceed the bound briefly.
	for tries := 3 * len(c.ring); len(c.ring)+c.pending >= c.max && tries > 0 && len(c.ring) > 0; tries-- {
		c.hand %= len(c.ring)
		h := c.ring[c.hand]
		if gone, victim := c.tryEvictLocked(h); gone {
			if victim {
				victims = append(victims, h)
			}
			continue // the slot now holds another handle; look at it next
		}
		c.hand++
	}
	c.pending++
	c.mu.Unlock()
	for _, h := range victims {
		h.owner.closeEvicted(h)
	}
}

// tryEvictLocked takes h out of the ring if it is idle and not recently
// used, or clears its reference bit. gone is true when h left the ring;
// victim when the caller must close it (with closeEvicted).
func (c *FileCache) tryEvictLocked(h *handle) (gone, victim bool) {
	s := h.owner
	s.mu.Lock()
	if s.open[h.file] != h {
		// Detached by its storage (closed or replaced); its owner
		// closes the descriptor, the ring only forgets it.
		s.mu.Unlock()
		c.removeLocked(h)
		return true, false
	}
	if h.refs > 0 || h.ref {
		h.ref = false
		s.mu.Unlock()
		return false, false
	}
	delete(s.open, h.file)
	// Until closeEvicted has synced it, the storage's Sync and Close
	// wait for it: resume state may soon claim these bytes.
	s.evicting++
	s.mu.Unlock()
	c.removeLocked(h)
	return true, true
}

func (c *FileCache) unreserve() {
	c.mu.Lock()
	c.pending--
	c.mu.Unlock()
}

// add counts h, opened in a reserved slot.
func (c *FileCache) add(h *handle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending--
	h.slot = len(c.ring)
	c.ring = append(c.ring, h)
}

// forget drops h from the ring; its storage has detached and closes it.
func (c *FileCache) forget(h *handle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(h)
}

func (c *FileCache) removeLocked(h *handle) {
	k := h.slot
	if k < 0 || k >= len(c.ring) || c.ring[k] != h {
		return
	}
	last := len(c.ring) - 1
	c.ring[k] = c.ring[last]
	c.ring[k].slot = k
	c.ring[last] = nil
	c.ring = c.ring[:last]
	h.slot = -1
}

// errStorageClosed is returned by calls on a closed FileStorage.
var errStorageClosed = errors.New("storage is closed")
