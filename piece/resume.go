package piece

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
)

// ResumeVersion is bumped when the resume format changes incompatibly; an
// unknown version is treated as no resume state, never misread.
const ResumeVersion = 1

// maxResumeSize bounds what LoadResume reads: a 16 Mi-piece bitfield and
// 100,000 file entries fit with room to spare.
const maxResumeSize = 64 << 20

// Resume is what shoal remembers about a torrent's data between runs: which
// pieces were verified, and each file's size and mtime at that moment. A
// restart trusts pieces whose files are unchanged instead of re-hashing.
type Resume struct {
	Version     int        `json:"version"`
	InfoHash    string     `json:"info_hash"`
	PieceLength int64      `json:"piece_length"`
	NumPieces   int        `json:"num_pieces"`
	Have        []byte     `json:"have"` // BEP 3 wire bitfield
	Files       []FileStat `json:"files"`
	// Partial lists the files a running download could still write to
	// when the state was saved (a periodic save, not one at stop). After
	// a crash their mtime has moved on through the download's own
	// writes; Check trusts their remembered pieces all the same if the
	// size is unchanged and the mtime has not gone back. Empty after a
	// clean stop, when every file is held to its exact size and mtime.
	Partial []int `json:"partial,omitempty"`
}

// PartialFiles lists the files holding a piece that have lacks: those a
// running download may still write to.
func PartialFiles(l *Layout, have *Bitfield) []int {
	var out []int
	for i, f := range l.Files {
		if f.Pad || f.Length == 0 {
			continue
		}
		first, end := l.FilePieces(i)
		if n := have.NextClear(first); n >= 0 && n < end {
			out = append(out, i)
		}
	}
	return out
}

// NewResume records have and the files' current stats for a torrent.
func NewResume(infoHash string, l *Layout, have *Bitfield, stats []FileStat) *Resume {
	return &Resume{
		Version: ResumeVersion, InfoHash: infoHash, PieceLength: l.PieceLength,
		NumPieces: l.NumPieces, Have: have.Wire(), Files: stats,
	}
}

// SaveResume writes r to path atomically: a temporary file in the same
// directory is written, fsynced and renamed over path, then the directory is
// fsynced. A crash at any moment leaves the old state or the new, never a
// torn one.
func SaveResume(path string, r *Resume) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode resume state: %w", err)
	}
	if same, _ := sameContent(path, data); same {
		// A seed restarting with valid state saves what is already
		// there: 10,000 of them paid three fsyncs each for nothing.
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("save resume state: %w", err)
	}
	return nil
}

// sameContent says whether the file at path holds exactly data. Every save
// is fsynced, so a file that does is already durable.
func sameContent(path string, data []byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() != int64(len(data)) {
		return false, err
	}
	got := make([]byte, len(data)+1)
	n, err := io.ReadFull(f, got)
	if err != io.ErrUnexpectedEOF {
		return false, err
	}
	return n == len(data) && bytes.Equal(got[:n], data), nil
}

// ErrNoResume means there is no usable resume state and the data must be
// verified from scratch.
var ErrNoResume = errors.New("no usable resume state")

// LoadResume reads resume state for a torrent and checks that it belongs to
// it. A missing, unreadable, foreign or malformed file yields an error
// wrapping ErrNoResume: the caller re-verifies, which is always safe.
func LoadResume(path, infoHash string, l *Layout) (*Resume, *Bitfield, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNoResume, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResumeSize+1))
	if err != nil || len(data) > maxResumeSize {
		return nil, nil, fmt.Errorf("%w: unreadable or oversized %s", ErrNoResume, path)
	}
	var r Resume
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrNoResume, path, err)
	}
	if r.Version != ResumeVersion || r.InfoHash != infoHash || r.PieceLength != l.PieceLength ||
		r.NumPieces != l.NumPieces || len(r.Files) != len(l.Files) {
		return nil, nil, fmt.Errorf("%w: %s belongs to another torrent or version", ErrNoResume, path)
	}
	have, err := BitfieldFromWire(r.Have, l.NumPieces)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrNoResume, path, err)
	}
	for _, i := range r.Partial {
		if i < 0 || i >= len(l.Files) {
			return nil, nil, fmt.Errorf("%w: %s names file %d of %d", ErrNoResume, path, i, len(l.Files))
		}
	}
	return &r, have, nil
}

// Check compares the remembered file stats with now and splits the
// remembered pieces in two: trusted, whose files are all unchanged, and
// recheck, which touch a file whose size or mtime changed (or that vanished)
// and must be hashed again before anyone is told we have them.
func (r *Resume) Check(l *Layout, have *Bitfield, now []FileStat) (trusted, recheck *Bitfield) {
	trusted = have.Clone()
	recheck = NewBitfield(l.NumPieces)
	partial := make(map[int]bool, len(r.Partial))
	for _, i := range r.Partial {
		partial[i] = true
	}
	for i, f := range l.Files {
		if f.Pad || f.Length == 0 {
			continue
		}
		was, is := r.Files[i], now[i]
		if was.Exists && is.Exists && was.Size == is.Size && was.ModTime.Equal(is.ModTime) {
			continue
		}
		if partial[i] && !was.Exists {
			// Nothing of it was verified: its pieces download again
			// rather than hashing a mostly empty file.
			continue
		}
		if partial[i] && is.Exists && was.Size == is.Size && !is.ModTime.Before(was.ModTime) {
			continue // the download's own writes since the save
		}
		// Every piece of a changed file is hashed, not only those we
		// had: the file may now hold data (copied in, or written by
		// another client) the resume state knows nothing of.
		first, end := l.FilePieces(i)
		for p := first; p < end; p++ {
			trusted.Clear(p)
			recheck.Set(p)
		}
	}
	return trusted, recheck
}
