package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// AddRequest is a torrent to add: exactly one of Metainfo (a .torrent
// file's bytes) and Magnet.
type AddRequest struct {
	Metainfo []byte
	Magnet   string
	// Dir is the save path; empty means the daemon's default. It must lie
	// under one of the daemon's roots.
	Dir        string
	Paused     bool
	Sequential bool // pieces in order, to play media while downloading
}

// ErrNotFound is returned for an id the daemon does not have.
var ErrNotFound = errors.New("no such torrent")

// Add adds a torrent and returns its status. A torrent already in the
// list is not added again: its status comes back with duplicate set.
func (d *Daemon) Add(req AddRequest) (st Status, duplicate bool, err error) {
	var m *meta.Torrent
	var mag *meta.Magnet
	switch {
	case len(req.Metainfo) > 0 && req.Magnet != "":
		return Status{}, false, errors.New("give metainfo or a magnet link, not both")
	case len(req.Metainfo) > 0:
		if m, err = meta.ParseWith(req.Metainfo, meta.ParseOptions{AllowV2Only: true}); err != nil {
			return Status{}, false, fmt.Errorf("invalid or corrupt torrent file: %w", err)
		}
	case req.Magnet != "":
		if mag, err = meta.ParseMagnet(req.Magnet); err != nil {
			return Status{}, false, err
		}
	default:
		return Status{}, false, errors.New("nothing to add: no metainfo and no magnet link")
	}
	err = d.call(func() error {
		dir := d.dir
		if req.Dir != "" {
			if dir, err = d.allowedDir(req.Dir); err != nil {
				return err
			}
		}
		hash := ""
		e := &entry{}
		if m != nil {
			hash, e.Name, e.m = m.InfoHash.HexString(), m.Name, m
		} else {
			hash, e.Name, e.Magnet = mag.InfoHash.HexString(), mag.Name, req.Magnet
			if e.Name == "" {
				e.Name = hash
			}
		}
		for _, o := range d.entries {
			if o.InfoHash == hash && !o.removing {
				st, duplicate = d.status(o, false), true
				return nil
			}
		}
		if m != nil {
			if err := atomicfile.Write(d.torrentPath(hash), req.Metainfo, 0o600); err != nil {
				return fmt.Errorf("save metainfo: %w", err)
			}
		}
		e.ID, e.InfoHash, e.Dir, e.Paused, e.Added = d.nextID, hash, dir, req.Paused, d.now()
		e.Sequential = req.Sequential
		e.QueuePos = len(d.entries)
		for _, o := range d.entries {
			e.QueuePos = max(e.QueuePos, o.QueuePos+1)
		}
		d.nextID++
		d.entries[e.ID] = e
		if err := d.save(); err != nil {
			delete(d.entries, e.ID)
			return fmt.Errorf("save the torrent list: %w", err)
		}
		d.log.Info("torrent added", "id", e.ID, "name", e.Name, "dir", dir)
		st = d.status(e, false)
		return nil
	})
	return st, duplicate, err
}

// allowedDir resolves a save path a caller asked for, or refuses it when
// it is not under one of the daemon's roots (symbolic links followed as
// far as the path exists).
func (d *Daemon) allowedDir(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("download directory %q is not an absolute path", p)
	}
	clean := filepath.Clean(p)
	real := clean
	// Resolve the deepest part that exists; the rest is created later.
	for probe, rest := clean, ""; ; {
		if r, err := filepath.EvalSymlinks(probe); err == nil {
			real = filepath.Join(r, rest)
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		rest = filepath.Join(filepath.Base(probe), rest)
		probe = parent
	}
	for _, root := range d.roots {
		if real == root || strings.HasPrefix(real, root+string(filepath.Separator)) {
			return clean, nil
		}
	}
	return "", fmt.Errorf("download directory %q is outside the allowed directories (%s)", p, strings.Join(d.roots, ", "))
}

// forEach runs fn on each id's entry, all or none: an unknown id fails
// the whole call before anything changes.
func (d *Daemon) forEach(ids []int, fn func(e *entry)) error {
	return d.forEachChecked(ids, nil, fn)
}

// forEachChecked is forEach with a check of each entry first, on the
// same turn of the loop: one refusal changes nothing.
func (d *Daemon) forEachChecked(ids []int, check func(e *entry) error, fn func(e *entry)) error {
	return d.call(func() error {
		es := make([]*entry, 0, len(ids))
		for _, id := range ids {
			e := d.entries[id]
			if e == nil || e.removing {
				return fmt.Errorf("%w: %d", ErrNotFound, id)
			}
			es = append(es, e)
		}
		if check != nil {
			for _, e := range es {
				if err := check(e); err != nil {
					return err
				}
			}
		}
		for _, e := range es {
			fn(e)
		}
		d.dirty = true
		return nil
	})
}

// Start lets torrents run (when the queue has room), and clears a
// failure so a fixed torrent can try again.
func (d *Daemon) Start(ids []int) error {
	return d.forEach(ids, func(e *entry) { e.Paused, e.failed, e.checkOnly = false, "", false })
}

// Stop stops torrents: peers are closed, trackers told, resume saved.
func (d *Daemon) Stop(ids []int) error {
	return d.forEach(ids, func(e *entry) { e.Paused = true })
}

// Verify hashes torrents' data again from scratch. A running torrent is
// stopped and started again; a stopped one runs until it is checked,
// then stops again.
func (d *Daemon) Verify(ids []int) error {
	return d.forEach(ids, func(e *entry) {
		if e.m == nil {
			return
		}
		if e.t != nil || e.stopping != nil {
			e.recheck, e.checkOnly = true, e.Paused
			d.stop(e)
			return
		}
		d.forgetPieces(e)
		e.checkOnly = e.Paused
	})
}

// Remove drops torrents from the list, and with deleteData their files
// too. It returns once they are stopped and gone.
func (d *Daemon) Remove(ids []int, deleteData bool) error {
	var waits []chan error
	err := d.forEach(ids, func(e *entry) {
		e.removing, e.delete = true, deleteData
		e.deleted = make(chan error, 1)
		waits = append(waits, e.deleted)
		d.stop(e)
		if e.stopping == nil {
			d.finishRemove(e)
		}
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range waits {
		errs = append(errs, <-w)
	}
	return errors.Join(errs...)
}

// finishRemove deletes a stopped torrent's state, and its data when asked.
func (d *Daemon) finishRemove(e *entry) {
	var errs []error
	if e.delete && e.m != nil {
		errs = append(errs, deleteData(e.Dir, e.m))
	}
	for _, p := range []string{d.torrentPath(e.InfoHash), d.resumePath(e.InfoHash)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	delete(d.entries, e.ID)
	if err := d.save(); err != nil {
		errs = append(errs, fmt.Errorf("save the torrent list: %w", err))
	}
	d.log.Info("torrent removed", "id", e.ID, "name", e.Name, "data_deleted", e.delete)
	e.deleted <- errors.Join(errs...)
}

// deleteData removes the torrent's own files and then the folders they
// leave empty, never anything else a person put beside them.
func deleteData(dir string, m *meta.Torrent) error {
	var errs []error
	for _, f := range m.Layout.Files {
		if f.Pad {
			continue
		}
		p := filepath.Join(append([]string{dir}, f.Path...)...)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	removeEmptyDirs(dir, m)
	return errors.Join(errs...)
}

// removeEmptyDirs removes the torrent's folders under dir that its files
// left empty, deepest first; a folder holding anything else stays.
func removeEmptyDirs(dir string, m *meta.Torrent) {
	dirs := map[string]bool{}
	for _, f := range m.Layout.Files {
		p := filepath.Join(append([]string{dir}, f.Path...)...)
		for q := filepath.Dir(p); q != dir && strings.HasPrefix(q, dir); q = filepath.Dir(q) {
			dirs[q] = true
		}
	}
	var list []string
	for q := range dirs {
		list = append(list, q)
	}
	for changed := true; changed; {
		changed = false
		for i, q := range list {
			if q != "" && os.Remove(q) == nil {
				list[i], changed = "", true
			}
		}
	}
}

// Settings are per-torrent changes; nil fields stay as they are.
type Settings struct {
	// Files sets priorities (skip, low, normal, high) by file index as
	// List shows them. Low pieces are picked only when a peer has no
	// normal or high ones we want. "wanted" makes a skipped file normal
	// and leaves any other as it is (Transmission's files-wanted).
	Files     map[int]string
	SeedRatio *float64
	// DownLimit and UpLimit are bytes per second; 0 lifts the torrent's
	// own limit (the session's still applies).
	DownLimit, UpLimit *int64
	QueuePos           *int
	Sequential         *bool
}

// Set changes torrents' settings, checked first: a bad value changes
// nothing.
func (d *Daemon) Set(ids []int, s Settings) error {
	if s.SeedRatio != nil && (*s.SeedRatio < 0 || *s.SeedRatio != *s.SeedRatio) {
		return fmt.Errorf("seed ratio %v: want 0 (no limit) or more", *s.SeedRatio)
	}
	for _, v := range []*int64{s.DownLimit, s.UpLimit} {
		if v != nil && *v < 0 {
			return fmt.Errorf("rate limit %d: want 0 (none) or more bytes per second", *v)
		}
	}
	for i, p := range s.Files {
		if p != "skip" && p != "low" && p != "normal" && p != "high" && p != "wanted" {
			return fmt.Errorf("file %d: priority %q: want skip, low, normal, high or wanted", i, p)
		}
	}
	check := func(e *entry) error {
		if len(s.Files) == 0 {
			return nil
		}
		if e.m == nil {
			return fmt.Errorf("torrent %d: files are unknown until its metadata arrives", e.ID)
		}
		files := e.m.Layout.ShownFiles()
		for i := range s.Files {
			if i < 0 || i >= len(files) {
				return fmt.Errorf("torrent %d has no file %d (it has %d)", e.ID, i, len(files))
			}
		}
		return nil
	}
	return d.forEachChecked(ids, check, func(e *entry) {
		if s.SeedRatio != nil {
			e.SeedRatio = *s.SeedRatio
		}
		if s.QueuePos != nil {
			e.QueuePos = *s.QueuePos
		}
		if s.DownLimit != nil || s.UpLimit != nil {
			if s.DownLimit != nil {
				e.DownLimit = *s.DownLimit
			}
			if s.UpLimit != nil {
				e.UpLimit = *s.UpLimit
			}
			if t := e.t; t != nil {
				t.SetRateLimits(e.DownLimit, e.UpLimit) // atomic: no need to wait for the loop
			}
		}
		if s.Sequential != nil {
			e.Sequential = *s.Sequential
			if t := e.t; t != nil {
				go t.SetSequential(e.Sequential)
			}
		}
		if len(s.Files) > 0 {
			files := e.m.Layout.ShownFiles()
			if len(e.Priorities) != len(files) {
				e.Priorities = make([]string, len(files))
				for i := range e.Priorities {
					e.Priorities[i] = "normal"
				}
			}
			for i, p := range s.Files {
				if p == "wanted" {
					if e.Priorities[i] != "skip" {
						continue // a wanted file keeps its priority
					}
					p = "normal"
				}
				e.Priorities[i] = p
				if t := e.t; t != nil {
					go t.SetFilePriority(files[i], parsePriority(p))
				}
			}
		}
	})
}

// Torrents reports the torrents with these ids (all for none), by id;
// detail adds files, peers and trackers.
func (d *Daemon) Torrents(ids []int, detail bool) ([]Status, error) {
	var out []Status
	err := d.query(func() error {
		if len(ids) == 0 {
			for _, e := range d.entries {
				if !e.removing {
					ids = append(ids, e.ID)
				}
			}
		}
		for _, id := range ids {
			if e := d.entries[id]; e != nil && !e.removing {
				out = append(out, d.status(e, detail))
			}
		}
		return nil
	})
	sortByID(out)
	return out, err
}
