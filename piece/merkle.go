package piece

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/anacrolix/torrent/merkle"
)

// HashSizeV2 is the length of a BEP 52 hash: SHA-256.
const HashSizeV2 = sha256.Size

// CheckV2Layout refuses a layout BEP 52 cannot describe: v2 hashes each
// file on its own, so every file holding data must start on a piece
// boundary (pad files put it there), and pieces must be a power of two
// of at least one 16 KiB block.
func CheckV2Layout(l *Layout) error {
	if pl := l.PieceLength; pl < BlockSize || pl&(pl-1) != 0 {
		return fmt.Errorf("piece length %d is not a power of two of at least 16 KiB, as v2 needs", pl)
	}
	for i, f := range l.Files {
		if !f.Pad && f.Length > 0 && f.Offset%l.PieceLength != 0 {
			return fmt.Errorf("file %d does not start on a piece boundary, as v2 needs", i)
		}
	}
	return nil
}

// fileInPiece returns the file whose data piece i of a v2 layout holds,
// and how many of the piece's bytes are that file's; the rest is padding.
func fileInPiece(l *Layout, i int) (file int, n int64) {
	var spans [4]Span
	for _, sp := range l.Spans(spans[:0], l.PieceOffset(i), l.PieceSize(i)) {
		if !l.Files[sp.File].Pad {
			return sp.File, sp.Length
		}
		break
	}
	return -1, 0
}

// merkleHasher hashes one piece of a v2 layout the way BEP 52 hashes it:
// SHA-256 of each 16 KiB block of the file's bytes, then a merkle tree.
// A piece of a file longer than a piece sums to its entry in the piece
// layer (the tree padded with zero blocks to the piece's size); the only
// piece of a smaller file sums to the file's pieces root.
type merkleHasher struct {
	h       *merkle.Hash
	minLen  int
	layered bool
}

func (m *merkleHasher) start(l *Layout, i int) int64 {
	m.h.Reset()
	f, n := fileInPiece(l, i)
	m.layered = f >= 0 && l.Files[f].Length > l.PieceLength
	m.minLen = int(l.PieceLength)
	return n
}

func (m *merkleHasher) write(b []byte) { m.h.Write(b) }

func (m *merkleHasher) sum(res *pieceResult) {
	if m.layered {
		m.h.SumMinLength(res.sum[:0], m.minLen)
	} else {
		m.h.Sum(res.sum[:0])
	}
}

func newMerkleHasher() pieceHasher { return &merkleHasher{h: merkle.NewHash()} }

// hybridHasher hashes a piece both ways in one read: SHA-1 over the whole
// piece, padding included, and the v2 tree over the file's bytes.
type hybridHasher struct {
	m    merkleHasher
	h1   hash.Hash
	left int64 // file bytes the merkle tree still takes
}

func (h *hybridHasher) start(l *Layout, i int) int64 {
	h.h1.Reset()
	h.left = h.m.start(l, i)
	return l.PieceSize(i)
}

func (h *hybridHasher) write(b []byte) {
	h.h1.Write(b)
	n := min(int64(len(b)), h.left)
	h.m.write(b[:n])
	h.left -= n
}

func (h *hybridHasher) sum(res *pieceResult) {
	h.m.sum(res)
	h.h1.Sum(res.sum1[:0])
}

// HashPiecesV2 hashes every piece of a v2 layout (see CheckV2Layout) as
// BEP 52 does, for making a torrent: entry i is piece i's piece-layer
// hash, or its file's pieces root when the file fits in one piece. With
// v1 set it also returns the concatenated SHA-1 piece hashes of a hybrid,
// from the same read. The first read error fails the pass.
func HashPiecesV2(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions, v1 bool) (v2 [][HashSizeV2]byte, sha1s []byte, err error) {
	if err := CheckV2Layout(l); err != nil {
		return nil, nil, err
	}
	v2 = make([][HashSizeV2]byte, l.NumPieces)
	if v1 {
		sha1s = make([]byte, l.NumPieces*HashSize)
	}
	errs := make([]error, l.NumPieces)
	newHasher := newMerkleHasher
	if v1 {
		newHasher = newHybridHasher
	}
	err = hashPass(ctx, r, l, opt, newHasher, func(i int, res *pieceResult) {
		v2[i], errs[i] = res.sum, res.err
		if v1 {
			copy(sha1s[i*HashSize:], res.sum1[:])
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for i, err := range errs {
		if err != nil {
			return nil, nil, fmt.Errorf("read piece %d: %w", i, err)
		}
	}
	return v2, sha1s, nil
}

// VerifyV2 checks pieces of a v2 layout against want, one hash a piece
// as HashPiecesV2 computes them, and sorts them as Verify does.
func VerifyV2(ctx context.Context, r io.ReaderAt, l *Layout, want [][HashSizeV2]byte, opt HashOptions) (*Verification, error) {
	if err := CheckV2Layout(l); err != nil {
		return nil, err
	}
	if len(want) != l.NumPieces {
		return nil, fmt.Errorf("%d v2 piece hashes for %d pieces", len(want), l.NumPieces)
	}
	return verifyPass(ctx, r, l, opt, newMerkleHasher, func(i int, res *pieceResult) bool {
		return res.sum == want[i]
	})
}

// VerifyHybrid checks a hybrid's pieces against both its v1 hashes and
// its v2 ones in one read; a piece is good only when both agree, so a
// torrent whose two halves describe different data is caught.
func VerifyHybrid(ctx context.Context, r io.ReaderAt, l *Layout, v1 []byte, v2 [][HashSizeV2]byte, opt HashOptions) (*Verification, error) {
	if err := CheckV2Layout(l); err != nil {
		return nil, err
	}
	if len(v2) != l.NumPieces || len(v1) != l.NumPieces*HashSize {
		return nil, fmt.Errorf("%d v1 and %d v2 piece hashes for %d pieces", len(v1)/HashSize, len(v2), l.NumPieces)
	}
	return verifyPass(ctx, r, l, opt, newHybridHasher, func(i int, res *pieceResult) bool {
		return res.sum == v2[i] && [HashSize]byte(v1[i*HashSize:]) == res.sum1
	})
}

func newHybridHasher() pieceHasher {
	return &hybridHasher{m: merkleHasher{h: merkle.NewHash()}, h1: sha1.New()}
}

// PieceHasherV2 hashes one piece of a v2 layout at a time from its bytes
// in order, as they arrive from peers, to the hash HashPiecesV2 gives
// it; padding after the file's bytes is skipped. The download's hash
// workers use it, so a received piece is never read back from disk.
type PieceHasherV2 struct {
	m    merkleHasher
	left int64
}

// NewPieceHasherV2 returns a hasher ready for Start.
func NewPieceHasherV2() *PieceHasherV2 {
	return &PieceHasherV2{m: merkleHasher{h: merkle.NewHash()}}
}

// Start begins piece i of l, which must pass CheckV2Layout.
func (h *PieceHasherV2) Start(l *Layout, i int) { h.left = h.m.start(l, i) }

// Write takes the piece's next bytes.
func (h *PieceHasherV2) Write(b []byte) {
	n := min(int64(len(b)), h.left)
	h.m.write(b[:n])
	h.left -= n
}

// Sum is the piece's v2 hash, to compare with its piece-layer entry.
func (h *PieceHasherV2) Sum() [HashSizeV2]byte {
	var res pieceResult
	h.m.sum(&res)
	return res.sum
}
