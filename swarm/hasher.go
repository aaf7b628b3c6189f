package swarm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"hash"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/shoal-torrent/shoal/piece"
)

// blockJob hands a received block to the worker that owns its piece.
type blockJob struct {
	piece, index int
	attempt      uint32 // a piece started over begins a new attempt
	buf          *[]byte
	n            int
}

// hashResult reports a finished piece, or a write that failed.
type hashResult struct {
	piece   int
	attempt uint32 // of the piece, as in blockJob
	ok      bool
	err     error // the block could not be written (disk full, I/O error)
}

// hasher writes blocks to storage and hashes each piece as its blocks
// arrive, in order, from the buffers they came in: a piece is never read
// back from disk to be verified. Every block of a piece goes to the same
// worker, so a piece's hash state has one owner and needs no lock.
type hasher struct {
	// credit bounds the blocks between the readers and the disk; the
	// job queues hold that many, so submit never waits.
	credit diskCredit
	layout *piece.Layout
	hashes []byte
	// v2 holds a v2-only torrent's piece-layer hashes, checked instead
	// of hashes (which it has none of); nil for v1 and hybrid torrents,
	// whose SHA-1 hashes already cover every byte.
	v2      [][piece.HashSizeV2]byte
	st      piece.Storage
	jobs    []chan blockJob
	wg      sync.WaitGroup
	results resultQueue
}

// resultQueue lets workers report without ever blocking on the loop; the
// loop drains it when woken.
type resultQueue struct {
	mu    sync.Mutex // guards items
	items []hashResult
	wake  chan struct{}
}

func (q *resultQueue) put(r hashResult) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *resultQueue) take(dst []hashResult) []hashResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	dst = append(dst[:0], q.items...)
	q.items = q.items[:0]
	return dst
}

type pieceHash struct {
	attempt uint32
	h       hash.Hash            // SHA-1, or nil for a v2-only torrent
	m       *piece.PieceHasherV2 // with h nil
	next    int
	got     int
	pending map[int]*[]byte // blocks written but waiting for earlier ones
	failed  bool
}

func newHasher(l *piece.Layout, hashes []byte, v2 [][piece.HashSizeV2]byte, st piece.Storage) *hasher {
	h := &hasher{credit: make(diskCredit, diskCredits), layout: l, hashes: hashes, v2: v2, st: st}
	h.results.wake = make(chan struct{}, 1)
	return h
}

// start runs the workers. They start with the first block, not with the
// torrent: a seed never receives one, and the queues and stacks cost
// ~60 KiB, most of what an idle seed would otherwise weigh.
func (h *hasher) start() {
	h.jobs = make([]chan blockJob, runtime.GOMAXPROCS(0))
	for i := range h.jobs {
		h.jobs[i] = make(chan blockJob, diskCredits)
		h.wg.Add(1)
		go h.work(h.jobs[i])
	}
}

// diskCredits is how many received blocks (16 KiB each) may wait for the
// disk per torrent: 8 MiB, a few tens of milliseconds at full speed.
const diskCredits = 512

// diskCredit is a counting semaphore of blocks on their way to the disk.
// Readers acquire before they hand a block to the loop; the worker that
// wrote it, or the loop when it drops it, releases.
type diskCredit chan struct{}

// acquire waits for a credit; false when ctx ended first.
func (d diskCredit) acquire(ctx context.Context) bool {
	select {
	case d <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d diskCredit) release() {
	select {
	case <-d:
	default: // unbalanced release: a bug, but never a hang
	}
}

// submit passes a block on. It never waits: the block holds a credit, and
// every queue has room for all of them.
func (h *hasher) submit(j blockJob) {
	if h.jobs == nil {
		h.start()
	}
	h.jobs[j.piece%len(h.jobs)] <- j
}

// close stops the workers after they finish what was submitted. It runs
// once the loop submits no more, so it reads jobs safely.
func (h *hasher) close() {
	for _, c := range h.jobs {
		close(c)
	}
	h.wg.Wait()
}

func (h *hasher) work(jobs <-chan blockJob) {
	defer h.wg.Done()
	states := map[int]*pieceHash{}
	for j := range jobs {
		ps := states[j.piece]
		if ps != nil && ps.attempt != j.attempt {
			// The piece was started over: what came before is void.
			for _, b := range ps.pending {
				putBlock(b)
			}
			ps = nil
		}
		if ps == nil {
			ps = &pieceHash{attempt: j.attempt, pending: map[int]*[]byte{}}
			if h.v2 != nil {
				ps.m = piece.NewPieceHasherV2()
				ps.m.Start(h.layout, j.piece)
			} else {
				ps.h = sha1.New()
			}
			states[j.piece] = ps
		}
		data := (*j.buf)[:j.n]
		off := h.layout.PieceOffset(j.piece) + int64(j.index)*piece.BlockSize
		if err := h.write(data, off); err != nil && !ps.failed {
			ps.failed = true
			h.results.put(hashResult{piece: j.piece, attempt: j.attempt, err: err})
		}
		h.credit.release()
		ps.got++
		if j.index == ps.next {
			ps.write(data)
			putBlock(j.buf)
			ps.next++
			for b := ps.pending[ps.next]; b != nil; b = ps.pending[ps.next] {
				ps.write((*b)[:h.blockLen(j.piece, ps.next)])
				putBlock(b)
				delete(ps.pending, ps.next)
				ps.next++
			}
		} else {
			ps.pending[j.index] = j.buf
		}
		if ps.got < h.layout.NumBlocks(j.piece) {
			continue
		}
		delete(states, j.piece)
		for _, b := range ps.pending {
			putBlock(b)
		}
		if ps.failed {
			continue // already reported; the loop re-downloads the piece
		}
		if pad := h.layout.PieceSize(j.piece) - h.layout.DataSize(j.piece); pad > 0 && ps.h != nil {
			writeZeros(ps.h, pad) // SHA-1 covers the padding no peer sent
		}
		var ok bool
		if ps.m != nil {
			ok = ps.m.Sum() == h.v2[j.piece]
		} else {
			var sum [sha1.Size]byte
			ps.h.Sum(sum[:0])
			ok = bytes.Equal(sum[:], h.hashes[j.piece*sha1.Size:(j.piece+1)*sha1.Size])
		}
		h.results.put(hashResult{piece: j.piece, attempt: j.attempt, ok: ok})
	}
}

// zeroBlock is what padding hashes as.
var zeroBlock [piece.BlockSize]byte

// writeZeros feeds n zero bytes to h.
func writeZeros(h hash.Hash, n int64) {
	for n > 0 {
		k := min(n, int64(len(zeroBlock)))
		h.Write(zeroBlock[:k])
		n -= k
	}
}

// write feeds a piece's next bytes to its hash.
func (ps *pieceHash) write(b []byte) {
	if ps.m != nil {
		ps.m.Write(b)
	} else {
		ps.h.Write(b)
	}
}

// write stores a block, waiting out a shortage of file descriptors
// (EMFILE, ENFILE): connections come and go, and running out for a moment
// is back-pressure, not a broken disk. It gives up after about a minute.
func (h *hasher) write(data []byte, off int64) error {
	backoff := 5 * time.Millisecond
	for waited := time.Duration(0); ; waited += backoff {
		_, err := h.st.WriteAt(data, off)
		if !isFDShortage(err) || waited > time.Minute {
			return err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// isFDShortage reports the process or system running out of descriptors.
func isFDShortage(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

func (h *hasher) blockLen(p, b int) int {
	_, n := h.layout.BlockSpan(p, b)
	return n
}
