package piece

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"sync/atomic"
)

// HashSize is the length of a v1 piece hash.
const HashSize = sha1.Size

// HashOptions tunes a hashing pass.
type HashOptions struct {
	// Workers bounds concurrent hashing; 0 uses every core, since SHA-1,
	// not the disk, is usually the limit on a warm cache.
	Workers int
	// Only restricts the pass to these pieces; nil means all.
	Only *Bitfield
	// Progress, when set, is advanced by each piece's data bytes
	// (Layout.DataBytes, padding left out) as it is hashed, so a progress
	// bar can poll it without a callback and end at Layout.DataTotal.
	Progress *atomic.Int64
}

func (o HashOptions) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// hashChunk is how much of a piece a worker reads at a time.
const hashChunk = 64 << 10

// PieceSum is the outcome of hashing one piece: its SHA-1, or the read
// error that prevented it.
type PieceSum struct {
	Sum [HashSize]byte
	Err error
	// Zero is set when every byte read was zero: a sparse region never
	// written, which verification reports as missing rather than corrupt.
	Zero bool
	// Done is set for pieces the pass hashed (all, or those in Only).
	Done bool
}

// HashPieces reads and hashes pieces of l from r on a bounded pool of
// workers, each with one reusable piece buffer. Read errors are per piece;
// only a cancelled context fails the whole pass.
func HashPieces(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions) ([]PieceSum, error) {
	out := make([]PieceSum, l.NumPieces)
	if err := hashEach(ctx, r, l, opt, func(i int, s *PieceSum) { out[i] = *s }); err != nil {
		return nil, err
	}
	return out, nil
}

// sha1Hasher hashes whole v1 pieces.
type sha1Hasher struct{ h hash.Hash }

func (s *sha1Hasher) start(l *Layout, i int) int64 { s.h.Reset(); return l.PieceSize(i) }
func (s *sha1Hasher) write(b []byte)               { s.h.Write(b) }
func (s *sha1Hasher) sum(res *pieceResult)         { s.h.Sum(res.sum[:0]) }

// hashEach hashes the pieces opt selects and hands each result to done,
// from the worker that hashed it. done may be called concurrently, never
// twice for one piece, and must not keep s. Callers that need less than a
// whole PieceSum per piece (Verify) keep only that, so a pass over a
// torrent of millions of pieces does not cost 40 bytes for each.
func hashEach(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions, done func(i int, s *PieceSum)) error {
	return hashPass(ctx, r, l, opt, func() pieceHasher { return &sha1Hasher{h: sha1.New()} }, func(i int, p *pieceResult) {
		res := PieceSum{Err: p.err, Zero: p.zero, Done: true}
		copy(res.Sum[:], p.sum[:HashSize])
		done(i, &res)
	})
}

// pieceHasher is one worker's hash state. start resets it for piece i and
// says how many of the piece's leading bytes it hashes (a v2 piece covers
// only its file's bytes, not the padding after them); sum stores the
// result.
type pieceHasher interface {
	start(l *Layout, i int) int64
	write(b []byte)
	sum(res *pieceResult)
}

// pieceResult is hashPass's per-piece outcome, big enough for SHA-256.
type pieceResult struct {
	sum  [32]byte
	sum1 [HashSize]byte // a hybrid's v1 hash, beside the v2 one in sum
	err  error
	zero bool
}

// hashPass runs the worker pool for hashEach and its v2 counterpart.
// done gets each worker's own pieceResult, reused after done returns; it
// is called from a worker and must be safe for concurrent use.
func hashPass(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions, newHasher func() pieceHasher, done func(i int, res *pieceResult)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(opt.workers(), max(l.NumPieces, 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A small buffer stays in the core's cache between the copy out
			// of storage and the hash, so the copy costs almost nothing;
			// a whole-piece buffer would stream every byte through RAM
			// twice.
			buf := make([]byte, min(hashChunk, l.PieceLength))
			h := newHasher()
			var res pieceResult // one per worker: done only borrows it
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= l.NumPieces {
					return
				}
				if opt.Only != nil && !opt.Only.Has(i) {
					continue
				}
				res = pieceResult{zero: true}
				n := h.start(l, i)
				off, end := l.PieceOffset(i), l.PieceOffset(i)+n
				for ; off < end && res.err == nil; off += int64(len(buf)) {
					b := buf[:min(int64(len(buf)), end-off)]
					if _, err := r.ReadAt(b, off); err != nil {
						res.err = err
						break
					}
					h.write(b)
					res.zero = res.zero && allZero(b)
				}
				if res.err == nil {
					h.sum(&res)
				}
				done(i, &res)
				if opt.Progress != nil {
					opt.Progress.Add(l.DataBytes(i))
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// allZero is cheap next to SHA-1: it stops at the first non-zero byte,
// which for real data is almost always within the first few.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Verification sorts a torrent's pieces into those whose data is present
// and proven, absent (missing or short files, never-written sparse ranges),
// and present but wrong.
type Verification struct {
	Have    *Bitfield
	Missing *Bitfield
	Corrupt *Bitfield
}

// Verify hashes pieces of r and compares them with hashes (the torrent's
// concatenated 20-byte SHA-1s). Pieces outside opt.Only are left out of all
// three sets. I/O errors other than absent data fail the pass, because
// calling a piece "missing" on a disk error would start a needless
// re-download.
func Verify(ctx context.Context, r io.ReaderAt, l *Layout, hashes []byte, opt HashOptions) (*Verification, error) {
	if len(hashes) != l.NumPieces*HashSize {
		return nil, fmt.Errorf("%d bytes of piece hashes for %d pieces", len(hashes), l.NumPieces)
	}
	return verifyPass(ctx, r, l, opt, func() pieceHasher { return &sha1Hasher{h: sha1.New()} }, func(i int, res *pieceResult) bool {
		return bytes.Equal(res.sum[:HashSize], hashes[i*HashSize:(i+1)*HashSize])
	})
}

// verifyPass sorts pieces by what hashPass finds and good says of each
// sum.
func verifyPass(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions, newHasher func() pieceHasher, good func(i int, res *pieceResult) bool) (*Verification, error) {
	// One byte per piece while workers run: they write distinct
	// elements, and the bitfields are filled after they finish.
	const (
		unseen = iota
		have
		missing
		corrupt
	)
	state := make([]byte, l.NumPieces)
	var (
		mu       sync.Mutex // guards firstErr and errPiece
		firstErr error
		errPiece int
	)
	err := hashPass(ctx, r, l, opt, newHasher, func(i int, s *pieceResult) {
		switch {
		case s.err != nil && (errors.Is(s.err, fs.ErrNotExist) || errors.Is(s.err, io.ErrUnexpectedEOF)):
			state[i] = missing
		case s.err != nil:
			mu.Lock()
			if firstErr == nil || i < errPiece {
				firstErr, errPiece = s.err, i
			}
			mu.Unlock()
		case good(i, s):
			state[i] = have
		case s.zero:
			state[i] = missing
		default:
			state[i] = corrupt
		}
	})
	if err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, fmt.Errorf("read piece %d: %w", errPiece, firstErr)
	}
	v := &Verification{Have: NewBitfield(l.NumPieces), Missing: NewBitfield(l.NumPieces), Corrupt: NewBitfield(l.NumPieces)}
	for i, st := range state {
		switch st {
		case have:
			v.Have.Set(i)
		case missing:
			v.Missing.Set(i)
		case corrupt:
			v.Corrupt.Set(i)
		}
	}
	return v, nil
}
