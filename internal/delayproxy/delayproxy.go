// Package delayproxy is a TCP proxy that holds every byte for a fixed time
// in each direction and limits nothing else, so a benchmark on loopback can
// see what a round trip costs a client (this kernel has no netem). Each read
// chunk is stamped when it arrives and written out at that time plus the
// delay; a chunk read while earlier ones wait goes out with them, so the
// delay does not add up and throughput is that of loopback, up to
// MaxBuffered bytes in flight per direction.
package delayproxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Config says where the proxy forwards to and how long it holds bytes.
type Config struct {
	// Target is the address every accepted connection is forwarded to.
	Target string
	// Delay is the one-way delay, applied to each direction: the round
	// trip through the proxy is twice it.
	Delay time.Duration
	// MaxBuffered bounds the bytes one direction of one connection holds;
	// a sender beyond it waits (TCP back-pressure), so it is the largest
	// bandwidth-delay product the proxy carries.
	MaxBuffered int
	// ChunkSize is the largest single read.
	ChunkSize int
}

// DefaultConfig forwards to target with a one-way delay; 64 MiB in
// flight per direction carries 640 MiB/s at 100 ms.
func DefaultConfig(target string, delay time.Duration) Config {
	return Config{Target: target, Delay: delay, MaxBuffered: 64 << 20, ChunkSize: 64 << 10}
}

// Validate reports a config the proxy cannot run with.
func (c Config) Validate() error {
	switch {
	case c.Target == "":
		return errors.New("delayproxy: no target address")
	case c.Delay < 0:
		return fmt.Errorf("delayproxy: negative delay %v", c.Delay)
	case c.ChunkSize <= 0:
		return fmt.Errorf("delayproxy: chunk size %d, want > 0", c.ChunkSize)
	case c.MaxBuffered < c.ChunkSize:
		return fmt.Errorf("delayproxy: max buffered %d is less than a chunk (%d)", c.MaxBuffered, c.ChunkSize)
	}
	return nil
}

// Proxy accepts on a loopback port and forwards each connection to the
// target, delayed.
type Proxy struct {
	cfg Config
	ln  net.Listener
	log *slog.Logger

	mu     sync.Mutex // guards conns, closed
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	// delivered counts bytes written out, both directions, so a harness
	// can tell that a transfer really went through the proxy.
	delivered atomic.Int64
}

// Listen starts a proxy on 127.0.0.1 at an ephemeral port.
func Listen(cfg Config, log *slog.Logger) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("delayproxy: listen: %w", err)
	}
	p := &Proxy{cfg: cfg, ln: ln, log: log, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Delivered is how many bytes the proxy has passed on so far, both
// directions together.
func (p *Proxy) Delivered() int64 { return p.delivered.Load() }

// Close stops accepting, closes every forwarded connection and waits for
// their goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track records c for Close; false once the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.forward(in)
	}
}

// forward dials the target for in and pumps both directions until both
// have ended.
func (p *Proxy) forward(in net.Conn) {
	defer p.wg.Done()
	out, err := net.Dial("tcp", p.cfg.Target)
	if err != nil {
		p.log.Debug("delayproxy: dial target", "target", p.cfg.Target, "err", err)
		in.Close()
		return
	}
	if !p.track(in) || !p.track(out) {
		in.Close()
		out.Close()
		return
	}
	defer func() {
		in.Close()
		out.Close()
		p.untrack(in)
		p.untrack(out)
	}()
	abort := func() { in.Close(); out.Close() }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(in, out, abort) }()
	go func() { defer wg.Done(); p.pump(out, in, abort) }()
	wg.Wait()
}

// pump moves src's bytes to dst, each chunk held until Delay after it was
// read. A clean end of src becomes a half-close of dst, delayed the same;
// any failure aborts both connections.
func (p *Proxy) pump(src, dst net.Conn, abort func()) {
	q := newQueue(p.cfg.MaxBuffered)
	done := make(chan struct{})
	go func() {
		defer close(done)
		deliver(q, dst, abort, &p.delivered)
	}()
	for {
		buf := make([]byte, p.cfg.ChunkSize)
		n, err := src.Read(buf)
		at := time.Now().Add(p.cfg.Delay)
		if n > 0 && !q.put(chunk{at: at, b: buf[:n]}) {
			break // the writer failed
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				q.put(chunk{at: at, eof: true})
			} else {
				q.fail()
				abort()
			}
			break
		}
	}
	<-done
}

// deliver writes q's chunks to dst as each one's time comes, together with
// every other chunk due by then.
func deliver(q *queue, dst net.Conn, abort func(), delivered *atomic.Int64) {
	var bufs net.Buffers
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		at, ok := q.next()
		if !ok {
			return
		}
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			<-timer.C
		}
		due, eof, size := q.takeDue(bufs[:0], time.Now())
		bufs = due
		if len(due) > 0 {
			w := due // WriteTo consumes its receiver
			n, err := w.WriteTo(dst)
			delivered.Add(n)
			if err != nil {
				q.fail()
				abort()
				return
			}
		}
		clear(bufs)
		q.release(size)
		if eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

// chunk is bytes read at one time, or the end of the stream.
type chunk struct {
	at  time.Time
	b   []byte
	eof bool
}

// queue is the bounded FIFO between one direction's reader and writer.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond // signalled on put, release and fail
	chunks   []chunk
	buffered int // bytes put and not yet released
	max      int
	failed   bool
}

func newQueue(max int) *queue {
	q := &queue{max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// put appends c, waiting while the queue is full; false if the writer
// failed.
func (q *queue) put(c chunk) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.failed && q.buffered > 0 && q.buffered+len(c.b) > q.max {
		q.cond.Wait()
	}
	if q.failed {
		return false
	}
	q.chunks = append(q.chunks, c)
	q.buffered += len(c.b)
	q.cond.Broadcast()
	return true
}

// next waits for a chunk and says when it is due; false once failed.
func (q *queue) next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.failed && len(q.chunks) == 0 {
		q.cond.Wait()
	}
	if q.failed {
		return time.Time{}, false
	}
	return q.chunks[0].at, true
}

// takeDue removes the chunks due by now (stamps only grow, so a prefix),
// appending their bytes to dst; eof says the stream's end was among them,
// n how many bytes to release once written.
func (q *queue) takeDue(dst net.Buffers, now time.Time) (_ net.Buffers, eof bool, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := 0
	for k < len(q.chunks) && !q.chunks[k].at.After(now) {
		c := q.chunks[k]
		if c.eof {
			eof = true
		} else {
			dst = append(dst, c.b)
			n += len(c.b)
		}
		k++
	}
	rest := copy(q.chunks, q.chunks[k:])
	clear(q.chunks[rest:]) // let the written buffers go
	q.chunks = q.chunks[:rest]
	return dst, eof, n
}

// release frees n written bytes for the reader.
func (q *queue) release(n int) {
	q.mu.Lock()
	q.buffered -= n
	q.cond.Broadcast()
	q.mu.Unlock()
}

// fail wakes both sides for good.
func (q *queue) fail() {
	q.mu.Lock()
	q.failed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
