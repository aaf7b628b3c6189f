package piece

import (
	"errors"
	"fmt"
	"sort"
)

// BlockSize is the unit of a request on the wire. Clients drop peers that ask
// for more, so shoal never requests more and treats larger requests as abuse.
const BlockSize = 16 * 1024

// File is one file of a torrent in torrent order. Offset is where its first
// byte sits in the torrent's concatenated byte stream.
type File struct {
	// Path holds the path components below the save directory (for a
	// multi-file torrent the first is the torrent's name).
	Path   []string
	Length int64
	Offset int64
	// Pad marks a BEP 47 padding file: its bytes are zeros by definition,
	// are never written to disk and never read from it.
	Pad bool
	// Symlink, when set, makes this a BEP 47 symbolic link to the file or
	// folder at these components below the save directory (the same root
	// Path is relative to). A link holds no bytes of the torrent, so its
	// Length must be zero; storage creates it when the files are created.
	Symlink []string
}

// Span is the part of one file that a range of the torrent's byte stream
// covers.
type Span struct {
	File   int   // index into Layout.Files
	Offset int64 // offset inside that file
	Length int64
}

// Layout maps pieces and blocks onto files. It is immutable after NewLayout,
// so every goroutine may read it without locking.
type Layout struct {
	PieceLength int64
	// Total is the length of the torrent's byte stream, pad files
	// included: what pieces and hashes cover.
	Total int64
	// DataTotal counts only the files' bytes, not the padding: the size a
	// person is shown and the bytes a download fetches (see DataBytes).
	DataTotal int64
	NumPieces int
	Files     []File
	// starts holds each file's offset, for binary search.
	starts []int64
	// padded is set when some pad file holds bytes, so DataSize can
	// answer the common case without a search.
	padded bool
	// shown holds the indexes of the files that are not padding.
	shown []int
}

// NewLayout checks and lays out files one after another. Offsets in files
// are ignored and recomputed, so a caller cannot hand in overlapping files.
func NewLayout(pieceLength int64, files []File) (*Layout, error) {
	if pieceLength <= 0 {
		return nil, fmt.Errorf("piece length %d is not positive", pieceLength)
	}
	if len(files) == 0 {
		return nil, errors.New("torrent has no files")
	}
	l := &Layout{PieceLength: pieceLength, Files: make([]File, len(files)), starts: make([]int64, len(files))}
	var off int64
	for i, f := range files {
		if f.Length < 0 {
			return nil, fmt.Errorf("file %d has negative length %d", i, f.Length)
		}
		if f.Symlink != nil && (f.Length != 0 || f.Pad) {
			return nil, fmt.Errorf("file %d is a symlink but holds data", i)
		}
		if off > maxTotal-f.Length {
			return nil, errors.New("torrent is larger than shoal supports")
		}
		f.Path = append([]string(nil), f.Path...)
		if f.Symlink != nil {
			f.Symlink = append([]string{}, f.Symlink...)
		}
		f.Offset = off
		l.padded = l.padded || f.Pad && f.Length > 0
		if !f.Pad {
			l.shown = append(l.shown, i)
			l.DataTotal += f.Length
		}
		l.Files[i] = f
		l.starts[i] = off
		off += f.Length
	}
	l.Total = off
	np := (off + pieceLength - 1) / pieceLength
	if np > MaxPieces {
		return nil, fmt.Errorf("torrent has %d pieces, more than shoal supports (%d)", np, MaxPieces)
	}
	l.NumPieces = int(np)
	return l, nil
}

// MaxPieces is the most pieces a layout may have: 2^21 (2,097,152), the
// limit libtorrent applies too. Every piece costs memory in the picker,
// bitfields, hashing passes and snapshots, so a small hostile .torrent
// declaring millions of pieces must be refused rather than served. Real
// torrents stay far below it: a 1 TiB torrent of 1 MiB pieces has 2^20.
const MaxPieces = 1 << 21

// maxTotal bounds what a .torrent may claim so that arithmetic cannot
// overflow.
const maxTotal = 1 << 50 // 1 PiB

// PieceOffset is the byte offset of piece i in the torrent's stream.
func (l *Layout) PieceOffset(i int) int64 { return int64(i) * l.PieceLength }

// PieceSize is piece i's length; only the last piece may be short.
func (l *Layout) PieceSize(i int) int64 {
	if i < 0 || i >= l.NumPieces {
		return 0
	}
	if i == l.NumPieces-1 {
		return l.Total - l.PieceOffset(i)
	}
	return l.PieceLength
}

// DataSize is piece i's length without the padding that ends it: the
// part that is requested from peers. Pad bytes are zeros by definition
// and never go on the wire: anacrolix counts a v2 file's last piece as
// ending with the file and hangs up on a request past it, and libtorrent
// never asks for a pad file's bytes. A piece that is padding throughout keeps its
// size, so it still has blocks to fetch (a torrent that odd is hostile
// or broken, and peers serve zeros for it).
func (l *Layout) DataSize(i int) int64 {
	size := l.PieceSize(i)
	if !l.padded || size == 0 {
		return size
	}
	start := l.PieceOffset(i)
	end := start + size
	f := sort.Search(len(l.starts), func(k int) bool { return l.starts[k] >= end }) - 1
	for ; f >= 0 && end > start; f-- {
		fl := &l.Files[f]
		if fl.Length == 0 {
			continue
		}
		if !fl.Pad {
			break
		}
		end = max(fl.Offset, start)
	}
	if end == start {
		return size
	}
	return end - start
}

// DataBytes is how many of piece i's bytes belong to files rather than
// to padding, wherever in the piece the padding lies; over every piece
// they add up to DataTotal. Sizes, bytes left and progress count these,
// so padding, which no one downloads or sees, counts in none of them.
func (l *Layout) DataBytes(i int) int64 {
	size := l.PieceSize(i)
	if !l.padded || size == 0 {
		return size
	}
	var buf [8]Span
	var n int64
	for _, sp := range l.Spans(buf[:0], l.PieceOffset(i), size) {
		if !l.Files[sp.File].Pad {
			n += sp.Length
		}
	}
	return n
}

// NumBlocks is how many 16 KiB blocks piece i splits into; padding at
// the piece's end is in none of them (see DataSize).
func (l *Layout) NumBlocks(i int) int {
	return int((l.DataSize(i) + BlockSize - 1) / BlockSize)
}

// BlockSpan returns where block b of piece i begins within the piece and
// how long it is; the last block of a piece may be short, and stops
// where the piece's padding starts.
func (l *Layout) BlockSpan(i, b int) (begin, length int) {
	begin = b * BlockSize
	length = int(min(int64(BlockSize), l.DataSize(i)-int64(begin)))
	return begin, length
}

// Spans appends to dst the file spans covering [off, off+n) of the torrent
// and returns it. Zero-length files never appear; pad files do, marked by
// their File.Pad, so readers can fill zeros and writers can skip them.
func (l *Layout) Spans(dst []Span, off, n int64) []Span {
	if off < 0 || n <= 0 || off >= l.Total {
		return dst
	}
	n = min(n, l.Total-off)
	// The last file starting at or before off; skip zero-length files that
	// share its start.
	i := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off }) - 1
	for ; i < len(l.Files) && n > 0; i++ {
		f := &l.Files[i]
		if f.Length == 0 || off >= f.Offset+f.Length {
			continue
		}
		in := off - f.Offset
		take := min(n, f.Length-in)
		dst = append(dst, Span{File: i, Offset: in, Length: take})
		off += take
		n -= take
	}
	return dst
}

// Folder says the torrent is saved as a folder named for it that holds
// its files (a multi-file torrent), not as one file: then every path
// starts with the torrent's name and has a component below it. v1, v2
// and hybrid torrents alike are told apart here, by their layout; a
// decoded v2 info dictionary has no v1 file list to tell it by.
func (l *Layout) Folder() bool { return len(l.Files) > 1 || len(l.Files[0].Path) > 1 }

// FilePieces returns the half-open range of pieces that hold bytes of file
// f. A zero-length file holds none, so first == end.
func (l *Layout) FilePieces(f int) (first, end int) {
	fl := l.Files[f]
	if fl.Length == 0 {
		p := int(fl.Offset / l.PieceLength)
		return p, p
	}
	return int(fl.Offset / l.PieceLength), int((fl.Offset + fl.Length + l.PieceLength - 1) / l.PieceLength)
}

// FileProgress is the share of file f's bytes that lie in pieces of have;
// an empty file counts as complete.
func (l *Layout) FileProgress(f int, have *Bitfield) float64 {
	fl := l.Files[f]
	if fl.Length == 0 {
		return 1
	}
	first, end := l.FilePieces(f)
	var good int64
	for p := first; p < end; p++ {
		if have.Has(p) {
			lo := max(l.PieceOffset(p), fl.Offset)
			hi := min(l.PieceOffset(p)+l.PieceSize(p), fl.Offset+fl.Length)
			good += hi - lo
		}
	}
	return float64(good) / float64(fl.Length)
}

// ShownFiles maps the files people see, numbered from 0 as `info`,
// `set --file` and the stream server number them, to their indexes in
// Files: BEP 47 pad files are not shown. The slice is the layout's own,
// made once; callers read it and never change it.
func (l *Layout) ShownFiles() []int { return l.shown }
