package swarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/shoal-torrent/shoal/piece/picker"
)

// Streaming: a Reader reads one file while the torrent downloads. It tells
// the loop where it reads; the picker fetches the pieces there and just
// after (the read-ahead window) before anything else, and the reader
// blocks only until the piece under it is verified.

// Read-ahead: the window covers readAheadSeconds at the reader's observed
// rate, at least readAheadMin (a player's start-up burst) and at most
// readAheadMax; never less than two pieces.
const (
	readAheadSeconds = 20
	readAheadMin     = 4 << 20
	readAheadMax     = 128 << 20
)

// readAhead is how many bytes past its position a reader reading at rate
// bytes per second wants fetched first.
func readAhead(rate float64, pieceLen int64) int64 {
	w := int64(min(max(rate*readAheadSeconds, readAheadMin), readAheadMax))
	return max(w, 2*pieceLen)
}

// ErrReaderClosed is returned by a Reader used after Close.
var ErrReaderClosed = errors.New("reader closed")

// errTorrentStopped is what a reader gets once its torrent is gone.
var errTorrentStopped = errors.New("torrent stopped")

// Reader reads one file of a torrent as an io.ReadSeekCloser, waiting for
// each piece to be verified: the bytes it returns are always the right
// ones. Not safe for concurrent use; open one per consumer (one per HTTP
// request). Closing it drops its priority.
type Reader struct {
	t     *Torrent
	ctx   context.Context
	id    uint64
	start int64 // the file's first byte in the torrent
	size  int64
	st    io.ReaderAt
	pos   int64
	// ready is the last piece known verified, so reading inside it asks
	// the loop nothing.
	ready  int
	closed bool
	// rate is the read rate, from bytes read since rateFrom.
	rate     float64
	rateFrom time.Time
	rateRead int64
}

// readerPos is the loop's record of an open reader.
type readerPos struct {
	file       int
	first, end int // pieces of its window
}

// NewReader opens file f (an index into the layout's files) for reading
// while it downloads. A skipped file is switched to normal priority: it
// is wanted now. ctx bounds every Read.
func (t *Torrent) NewReader(ctx context.Context, f int) (*Reader, error) {
	l := t.m.Layout
	if f < 0 || f >= len(l.Files) || l.Files[f].Pad {
		return nil, fmt.Errorf("no file %d in %s", f, t.m.Name)
	}
	r := &Reader{t: t, ctx: ctx, start: l.Files[f].Offset, size: l.Files[f].Length, ready: -1}
	ok := t.do(func() {
		lp := t.loopState()
		r.st = lp.st
		if lp.picker.FilePriority(f) == picker.Skip {
			lp.picker.SetFilePriority(f, picker.Normal)
			lp.refreshInterest()
		}
		lp.nextReader++
		r.id = lp.nextReader
		if lp.readers == nil {
			lp.readers = map[uint64]*readerPos{}
			lp.waiters = map[int][]chan struct{}{}
		}
		lp.readers[r.id] = &readerPos{file: f, first: -1, end: -1}
	})
	if !ok {
		return nil, errTorrentStopped
	}
	return r, nil
}

// Size is the file's length.
func (r *Reader) Size() int64 { return r.size }

// Read reads from the current position, at most to the end of its piece,
// after waiting for that piece to be verified.
func (r *Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, ErrReaderClosed
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	l := r.t.m.Layout
	abs := r.start + r.pos
	pc := int(abs / l.PieceLength)
	if pc != r.ready {
		if err := r.wait(pc, abs); err != nil {
			return 0, err
		}
	}
	n := min(int64(len(p)), l.PieceOffset(pc)+l.PieceSize(pc)-abs, r.size-r.pos)
	got, err := r.st.ReadAt(p[:n], abs)
	r.pos += int64(got)
	r.observe(int64(got))
	if err == io.EOF && got > 0 {
		err = nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read %s: %w", r.t.m.Name, err)
	}
	return got, err
}

// observe updates the read rate, over spans of a second or more.
func (r *Reader) observe(n int64) {
	now := r.t.s.now()
	if r.rateFrom.IsZero() {
		r.rateFrom = now
	}
	r.rateRead += n
	if d := now.Sub(r.rateFrom); d >= time.Second {
		r.rate = (r.rate + float64(r.rateRead)/d.Seconds()) / 2
		r.rateFrom, r.rateRead = now, 0
	}
}

// wait moves the reader's window to abs and waits until piece pc is
// verified.
func (r *Reader) wait(pc int, abs int64) error {
	ch := make(chan struct{})
	have := false
	window := readAhead(r.rate, r.t.m.Layout.PieceLength)
	ok := r.t.do(func() {
		l := r.t.loopState()
		l.moveReader(r.id, abs, window)
		if l.picker.Have(pc) {
			have = true
			return
		}
		l.waiters[pc] = append(l.waiters[pc], ch)
	})
	if !ok {
		return errTorrentStopped
	}
	if !have {
		select {
		case <-ch:
		case <-r.ctx.Done():
			return r.ctx.Err()
		case <-r.t.done:
			return errTorrentStopped
		}
	}
	r.ready = pc
	return nil
}

// Seek sets the position for the next Read; it never waits.
func (r *Reader) Seek(off int64, whence int) (int64, error) {
	if r.closed {
		return 0, ErrReaderClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if off < 0 {
		return 0, errors.New("seek: negative position")
	}
	r.pos = off
	return off, nil
}

// Close drops the reader's priority.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.t.do(func() {
		l := r.t.loopState()
		delete(l.readers, r.id)
		l.setWindows()
	})
	return nil
}

var _ io.ReadSeekCloser = (*Reader)(nil)

// moveReader records that reader id reads at abs and wants window bytes
// after it, within its file.
func (l *loop) moveReader(id uint64, abs, window int64) {
	rp := l.readers[id]
	if rp == nil {
		return
	}
	f := l.layout.Files[rp.file]
	last := min(abs+window, f.Offset+f.Length) - 1
	first, end := int(abs/l.layout.PieceLength), int(last/l.layout.PieceLength)+1
	if first == rp.first && end == rp.end {
		return
	}
	rp.first, rp.end = first, max(end, first+1)
	l.setWindows()
	l.requestAll() // a seek wants its pieces now, not at the tick
}

// setWindows gives the picker every open reader's window, the newest
// reader first: a player that seeks opens a new request, and that is
// where someone waits.
func (l *loop) setWindows() {
	ids := make([]uint64, 0, len(l.readers))
	for id, rp := range l.readers {
		if rp.first >= 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b uint64) int { return cmp.Compare(b, a) })
	w := make([]picker.Window, 0, len(ids))
	for _, id := range ids {
		w = append(w, picker.Window{First: l.readers[id].first, End: l.readers[id].end})
	}
	l.picker.SetWindows(w)
}

// wakeReaders lets readers waiting for piece p go on.
func (l *loop) wakeReaders(p int) {
	for _, ch := range l.waiters[p] {
		close(ch)
	}
	delete(l.waiters, p)
}
