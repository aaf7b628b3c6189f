package piece

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultMaxOpenFiles bounds the file handles one torrent keeps open; a
// torrent with 100,000 files must not exhaust the process's descriptors.
const DefaultMaxOpenFiles = 64

// FileStorage stores a torrent as files below a save directory, the way
// every client lays them out. All access goes through an os.Root, so no path
// from the torrent and no symlink planted inside the directory can reach a
// file outside it.
type FileStorage struct {
	layout   *Layout
	cache    *FileCache
	dir      string
	rel      []string       // checked relative path of each file
	links    map[int]string // link text of each symlink, relative to its folder
	writable bool

	mu     sync.Mutex // guards open, closed, evicting and each handle's refs/ref/dirty
	open   map[int]*handle
	closed bool
	// evicting counts handles the shared cache took out of open and has
	// not yet synced and closed; evicted signals (on mu) when it drops.
	evicting int
	evicted  sync.Cond
	created  map[int]bool // files sized to their length by this storage
}

type handle struct {
	f     *os.File
	owner *FileStorage
	file  int
	refs  int
	ref   bool // used since the cache's last sweep passed it
	slot  int  // position in the cache's ring, guarded by the cache
	rw    bool
	dirty bool // written since the last fsync
	// retired handles were replaced in the cache while in use (a read-only
	// one by a read-write one); the last user closes them.
	retired bool
}

// FileStorageConfig says where and how a torrent's files are stored.
type FileStorageConfig struct {
	// Dir is the save path: it holds a single-file torrent's file or a
	// multi-file torrent's top folder.
	Dir string
	// Writable allows creating and writing files; verify opens read-only.
	Writable bool
	// MaxOpenFiles bounds open handles; 0 means DefaultMaxOpenFiles.
	// It applies only without Cache.
	MaxOpenFiles int
	// Cache, when set, is the pool of descriptors this storage shares
	// with others (a session's torrents); without it the storage has a
	// pool of its own. An idle storage holds no descriptor either way.
	Cache *FileCache
}

// OpenFileStorage checks every path of l before touching the disk and opens
// storage below cfg.Dir. A writable storage creates Dir if it is missing.
func OpenFileStorage(l *Layout, cfg FileStorageConfig) (*FileStorage, error) {
	rel := make([]string, len(l.Files))
	links := map[int]string{}
	for i, f := range l.Files {
		if f.Pad {
			continue
		}
		p, err := CheckPath(f.Path)
		if err != nil {
			return nil, err
		}
		rel[i] = p
		if f.Symlink != nil {
			if links[i], err = linkText(f.Path, f.Symlink); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Writable {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create download directory: %w", err)
		}
	}
	cache := cfg.Cache
	if cache == nil {
		maxOpen := cfg.MaxOpenFiles
		if maxOpen <= 0 {
			maxOpen = DefaultMaxOpenFiles
		}
		// A storage's own pool keeps no idle root: an idle storage
		// holds no descriptor.
		cache = NewFileCache(maxOpen)
		cache.idleRoots = 0
	}
	root, err := cache.root(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer cache.releaseRoot(cfg.Dir)
	// Special files already in place are refused before any work starts,
	// with one line naming them; the open path checks again later.
	for i, p := range rel {
		if p == "" || l.Files[i].Symlink != nil {
			continue // pad file, or a link made by CreateFiles
		}
		if fi, err := root.Stat(p); err == nil {
			if err := checkRegular(filepath.Join(cfg.Dir, p), fi); err != nil {
				return nil, err
			}
		}
	}
	s := &FileStorage{
		layout: l, cache: cache, dir: cfg.Dir, rel: rel, links: links, writable: cfg.Writable,
		open: map[int]*handle{}, created: map[int]bool{},
	}
	s.evicted.L = &s.mu
	return s, nil
}

// withRoot runs fn on the save directory's root, opened or shared through
// the cache for the call alone.
func (s *FileStorage) withRoot(fn func(*os.Root) error) error {
	r, err := s.cache.root(s.dir)
	if err != nil {
		return err
	}
	defer s.cache.releaseRoot(s.dir)
	return fn(r)
}

// Path returns file i's path on disk, for messages shown to a person.
func (s *FileStorage) Path(i int) string { return filepath.Join(s.dir, s.rel[i]) }

// ReadAt implements io.ReaderAt. Pad files read as zeros; a missing file
// reads as an error wrapping fs.ErrNotExist and a short one as
// io.ErrUnexpectedEOF, so verification can tell absent data from bad data.
func (s *FileStorage) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange(s.layout, off, len(p)); err != nil {
		return 0, err
	}
	var spans [4]Span
	pos := 0
	for _, sp := range s.layout.Spans(spans[:0], off, int64(len(p))) {
		buf := p[pos : pos+int(sp.Length)]
		if s.layout.Files[sp.File].Pad {
			clear(buf)
		} else if err := s.fileIO(sp.File, false, func(f *os.File) error {
			n, err := f.ReadAt(buf, sp.Offset)
			if err == io.EOF && n < len(buf) {
				return fmt.Errorf("%s is shorter than the torrent says: %w", s.rel[sp.File], io.ErrUnexpectedEOF)
			}
			if err == io.EOF {
				err = nil
			}
			return err
		}); err != nil {
			return pos, err
		}
		pos += int(sp.Length)
	}
	return len(p), nil
}

// FileRange runs fn on the open file that holds the n bytes at off, with
// their offset inside it, when they lie within one data file; false (and
// fn not run) when they span files or touch a pad file, so the caller
// reads them instead. An uploader hands the file range to the socket
// (sendfile) without copying it through a buffer. The file stays open
// until fn returns; fn must not move its position (use offsets).
func (s *FileStorage) FileRange(off int64, n int, fn func(f *os.File, fileOff int64) error) (bool, error) {
	if err := checkRange(s.layout, off, n); err != nil {
		return false, err
	}
	var spans [2]Span
	sp := s.layout.Spans(spans[:0], off, int64(n))
	if len(sp) != 1 || s.layout.Files[sp[0].File].Pad {
		return false, nil
	}
	return true, s.fileIO(sp[0].File, false, func(f *os.File) error { return fn(f, sp[0].Offset) })
}

// WriteAt implements io.WriterAt; pad-file bytes are dropped.
func (s *FileStorage) WriteAt(p []byte, off int64) (int, error) {
	if !s.writable {
		return 0, errors.New("storage is read-only")
	}
	if err := checkRange(s.layout, off, len(p)); err != nil {
		return 0, err
	}
	var spans [4]Span
	pos := 0
	for _, sp := range s.layout.Spans(spans[:0], off, int64(len(p))) {
		buf := p[pos : pos+int(sp.Length)]
		if !s.layout.Files[sp.File].Pad {
			if err := s.fileIO(sp.File, true, func(f *os.File) error {
				_, err := f.WriteAt(buf, sp.Offset)
				return err
			}); err != nil {
				return pos, err
			}
		}
		pos += int(sp.Length)
	}
	return len(p), nil
}

// CreateFiles makes every non-pad file exist at its full length (sparse),
// including zero-length ones that no piece ever writes, and every symlink.
// A finished download calls it so the save directory matches the torrent
// exactly.
func (s *FileStorage) CreateFiles() error {
	for i, f := range s.layout.Files {
		if f.Pad {
			continue
		}
		if f.Symlink != nil {
			if err := s.createLink(i); err != nil {
				return err
			}
			continue
		}
		if err := s.fileIO(i, true, func(*os.File) error { return nil }); err != nil {
			return err
		}
	}
	return nil
}

// closeEvicted syncs (if written) and closes a handle the shared cache
// evicted, outside every lock but the wait it ends.
func (s *FileStorage) closeEvicted(h *handle) {
	if h.dirty {
		h.f.Sync()
	}
	h.f.Close()
	s.mu.Lock()
	s.evicting--
	if s.evicting == 0 {
		s.evicted.Broadcast()
	}
	s.mu.Unlock()
}

// waitEvictedLocked waits until every handle the cache evicted has been
// synced and closed; s.mu is held.
func (s *FileStorage) waitEvictedLocked() {
	for s.evicting > 0 {
		s.evicted.Wait()
	}
}

// Sync flushes every file written since the last Sync. Handles evicted
// while dirty are synced as they close, and Sync waits for those. The
// lock is not held during the fsyncs, so reads and writes go on meanwhile.
func (s *FileStorage) Sync() error {
	s.mu.Lock()
	s.waitEvictedLocked()
	var dirty []*handle
	var names []string
	for i, h := range s.open {
		if h.dirty {
			h.dirty = false
			h.refs++
			dirty = append(dirty, h)
			names = append(names, s.rel[i])
		}
	}
	s.mu.Unlock()
	var errs []error
	for k, h := range dirty {
		if err := h.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", names[k], err))
		}
		s.release(h)
	}
	return errors.Join(errs...)
}

// Close closes every handle. Calls in flight finish first on their own
// handles; later calls fail.
func (s *FileStorage) Close() error {
	s.mu.Lock()
	s.closed = true
	s.waitEvictedLocked()
	var errs []error
	var gone []*handle
	for i, h := range s.open {
		if h.refs == 0 {
			if h.dirty {
				errs = append(errs, h.f.Sync())
			}
			errs = append(errs, h.f.Close())
			delete(s.open, i)
			gone = append(gone, h)
		}
	}
	s.mu.Unlock()
	for _, h := range gone {
		s.cache.forget(h)
	}
	return errors.Join(errs...)
}

// FileStat is what resume state remembers about one file to decide whether
// it changed behind shoal's back.
type FileStat struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Exists  bool      `json:"exists"`
}

// Stats reports each file's size and modification time (pad files report
// as absent). Open handles are synced first so the times are final.
func (s *FileStorage) Stats() ([]FileStat, error) {
	if err := s.Sync(); err != nil {
		return nil, err
	}
	out := make([]FileStat, len(s.layout.Files))
	err := s.withRoot(func(root *os.Root) error {
		for i, f := range s.layout.Files {
			if f.Pad || f.Symlink != nil {
				continue
			}
			fi, err := root.Stat(s.rel[i])
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("stat %s: %w", s.rel[i], err)
			}
			out[i] = FileStat{Size: fi.Size(), ModTime: fi.ModTime(), Exists: true}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fileIO runs fn on an open handle for file i, opening (and for writes,
// creating and sizing) it if needed and closing idle handles beyond the
// bound.
func (s *FileStorage) fileIO(i int, write bool, fn func(*os.File) error) error {
	h, err := s.acquire(i, write)
	if err != nil {
		return err
	}
	defer s.release(h)
	if err := fn(h.f); err != nil {
		return fmt.Errorf("%s: %w", s.Path(i), err)
	}
	return nil
}

func (s *FileStorage) acquire(i int, write bool) (*handle, error) {
	if h, err := s.hit(i, write); h != nil || err != nil {
		return h, err
	}
	// A miss opens outside the storage's lock: the cache's sweep takes
	// storage locks while holding its own, never the other way round.
	s.cache.reserve()
	f, err := s.openFile(i, write)
	if err != nil {
		s.cache.unreserve()
		return nil, err
	}
	h := &handle{f: f, owner: s, file: i, refs: 1, ref: true, slot: -1, rw: write, dirty: write}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.cache.unreserve()
		f.Close()
		return nil, errStorageClosed
	}
	if o, ok := s.open[i]; ok && (o.rw || !write) {
		// Another call opened it meanwhile: use theirs.
		o.refs++
		o.ref = true
		o.dirty = o.dirty || write
		s.mu.Unlock()
		s.cache.unreserve()
		f.Close()
		return o, nil
	}
	old := s.open[i]
	if old != nil {
		// A write found the file open read-only: the read-write handle
		// takes its place. Reads in flight finish on the old one, and
		// whoever is last closes it, so a write never waits or fails for
		// a concurrent read.
		delete(s.open, i)
		if old.refs == 0 {
			old.f.Close()
		} else {
			old.retired = true
		}
	}
	s.open[i] = h
	s.mu.Unlock()
	s.cache.add(h)
	if old != nil {
		s.cache.forget(old)
	}
	return h, nil
}

// hit takes a reference on file i's open handle if it suits the access.
func (s *FileStorage) hit(i int, write bool) (*handle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStorageClosed
	}
	if h, ok := s.open[i]; ok && (h.rw || !write) {
		h.refs++
		h.ref = true
		h.dirty = h.dirty || write
		return h, nil
	}
	return nil, nil
}

func (s *FileStorage) openFile(i int, write bool) (*os.File, error) {
	root, err := s.cache.root(s.dir)
	if err != nil {
		return nil, err
	}
	defer s.cache.releaseRoot(s.dir)
	rel := s.rel[i]
	if !write {
		f, err := openRegular(root, rel, s.Path(i), os.O_RDONLY, 0)
		if err != nil && !errors.Is(err, ErrNotRegular) {
			err = fmt.Errorf("open %s: %w", s.Path(i), err)
		}
		return f, err
	}
	if d := filepath.Dir(rel); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create directory for %s: %w", s.Path(i), err)
		}
	}
	f, err := openRegular(root, rel, s.Path(i), os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, ErrNotRegular) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.Path(i), err)
	}
	s.mu.Lock()
	created := s.created[i]
	s.mu.Unlock()
	if !created {
		fi, err := f.Stat()
		if err == nil && fi.Size() < s.layout.Files[i].Length {
			// Sparse allocation: the file gets its length without
			// writing zeros, so a later short read is not mistaken for
			// missing data and the space shows up as the download lands.
			err = f.Truncate(s.layout.Files[i].Length)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("allocate %s: %w", s.Path(i), err)
		}
		s.mu.Lock()
		s.created[i] = true
		s.mu.Unlock()
	}
	return f, nil
}

func (s *FileStorage) release(h *handle) {
	s.mu.Lock()
	h.refs--
	if h.refs > 0 {
		s.mu.Unlock()
		return
	}
	if h.retired {
		s.mu.Unlock()
		h.f.Close() // read-only, never dirty; already out of the cache
		return
	}
	if !s.closed || s.open[h.file] != h {
		s.mu.Unlock()
		return
	}
	if h.dirty {
		h.f.Sync()
	}
	h.f.Close()
	delete(s.open, h.file)
	s.mu.Unlock()
	s.cache.forget(h)
}
