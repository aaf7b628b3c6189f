package piece

import (
	"errors"
	"fmt"
	"io"
)

// Storage reads and writes a torrent's bytes by their offset in the
// torrent's concatenated stream. Implementations must allow concurrent calls
// on disjoint ranges, since hash workers read while disk workers write.
type Storage interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes written data durable; resume state is saved only after
	// it, so a crash never leaves resume claiming bytes the disk lost.
	Sync() error
	Close() error
}

// ErrOutOfRange is returned for reads or writes past the torrent's end.
var ErrOutOfRange = errors.New("range outside the torrent")

func checkRange(l *Layout, off int64, n int) error {
	if off < 0 || int64(n) > l.Total-off {
		return fmt.Errorf("%w: %d bytes at %d of %d", ErrOutOfRange, n, off, l.Total)
	}
	return nil
}

// MemStorage keeps a torrent in memory. It serves tests and benchmarks that
// must not measure the disk.
type MemStorage struct {
	layout *Layout
	data   []byte
}

// NewMemStorage returns zero-filled storage for l.
func NewMemStorage(l *Layout) *MemStorage {
	return &MemStorage{layout: l, data: make([]byte, l.Total)}
}

// ReadAt implements io.ReaderAt.
func (m *MemStorage) ReadAt(p []byte, off int64) (int, error) {
	if err := checkRange(m.layout, off, len(p)); err != nil {
		return 0, err
	}
	return copy(p, m.data[off:]), nil
}

// WriteAt implements io.WriterAt; pad-file ranges keep their zeros.
func (m *MemStorage) WriteAt(p []byte, off int64) (int, error) {
	if err := checkRange(m.layout, off, len(p)); err != nil {
		return 0, err
	}
	var spans [4]Span
	pos := 0
	for _, s := range m.layout.Spans(spans[:0], off, int64(len(p))) {
		if !m.layout.Files[s.File].Pad {
			copy(m.data[m.layout.Files[s.File].Offset+s.Offset:], p[pos:pos+int(s.Length)])
		}
		pos += int(s.Length)
	}
	return len(p), nil
}

// Bytes exposes the stored data so tests can compare it byte for byte.
func (m *MemStorage) Bytes() []byte { return m.data }

// Sync implements Storage; memory needs none.
func (m *MemStorage) Sync() error { return nil }

// Close implements Storage.
func (m *MemStorage) Close() error { return nil }
