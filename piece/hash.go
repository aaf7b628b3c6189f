package piece

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
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
	// Progress, when set, is advanced by each piece's size as it is
	// hashed, so a progress bar can poll it without a callback.
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

// hashEach hashes the pieces opt selects and hands each result to done,
// from the worker that hashed it. done may be called concurrently, never
// twice for one piece, and must not keep s. Callers that need less than a
// whole PieceSum per piece (Verify) keep only that, so a pass over a
// torrent of millions of pieces does not cost 40 bytes for each.
func hashEach(ctx context.Context, r io.ReaderAt, l *Layout, opt HashOptions, done func(i int, s *PieceSum)) error {
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
			h := sha1.New()
			var res PieceSum // one per worker: done only borrows it
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= l.NumPieces {
					return
				}
				if opt.Only != nil && !opt.Only.Has(i) {
					continue
				}
				res = PieceSum{Done: true, Zero: true}
				h.Reset()
				off, end := l.PieceOffset(i), l.PieceOffset(i)+l.PieceSize(i)
				for ; off < end && res.Err == nil; off += int64(len(buf)) {
					b := buf[:min(int64(len(buf)), end-off)]
					if _, err := r.ReadAt(b, off); err != nil {
						res.Err = err
						break
					}
					h.Write(b)
					res.Zero = res.Zero && allZero(b)
				}
				if res.Err == nil {
					h.Sum(res.Sum[:0])
				}
				done(i, &res)
				if opt.Progress != nil {
					opt.Progress.Add(l.PieceSize(i))
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
	err := hashEach(ctx, r, l, opt, func(i int, s *PieceSum) {
		switch {
		case s.Err != nil && (errors.Is(s.Err, fs.ErrNotExist) || errors.Is(s.Err, io.ErrUnexpectedEOF)):
			state[i] = missing
		case s.Err != nil:
			mu.Lock()
			if firstErr == nil || i < errPiece {
				firstErr, errPiece = s.Err, i
			}
			mu.Unlock()
		case bytes.Equal(s.Sum[:], hashes[i*HashSize:(i+1)*HashSize]):
			state[i] = have
		case s.Zero:
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
