package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/picker"
)

// Web seeds (BEP 19): HTTP servers that hold a torrent's files, listed in
// its url-list. The loop hands a web seed whole pieces, as jobs; the web
// seed's workers fetch them with ranged GETs and send the blocks back as
// events, so the loop never waits on HTTP. This file is the HTTP side;
// webseedloop.go is the loop's.

// WebSeedConfig says how a torrent's web seeds are used.
type WebSeedConfig struct {
	// Disable ignores the torrent's url-list.
	Disable bool
	// Concurrency is how many requests one server has in flight at
	// once: a CDN takes more, but a home server should not see a swarm's
	// worth of connections from one client.
	Concurrency int
	// MaxRedirects bounds the redirects one request follows.
	MaxRedirects int
	// MaxFailures is how many failed requests in a row (timeouts, 5xx)
	// a server may have before it is dropped. A 404, a wrong range or a
	// piece that fails its hash drops it at once.
	MaxFailures int
	// MinBackoff and MaxBackoff bound the wait after a failure, doubled
	// each time; a Retry-After header replaces it, up to MaxRetryAfter.
	MinBackoff, MaxBackoff time.Duration
	MaxRetryAfter          time.Duration
	// ConnectTimeout bounds dialling and the TLS handshake.
	ConnectTimeout time.Duration
	// StallTimeout is how long a request may go without a byte (the
	// response header included) before it is given up.
	StallTimeout time.Duration
	// HandBack: a server that has held pieces this long and would take
	// longer again to send them gives them to peers when they are what
	// the download waits for (end-game, or a streaming reader), and
	// rests as long.
	HandBack time.Duration
}

// DefaultWebSeedConfig uses web seeds as libtorrent does, with a few
// requests in flight per server and patience for slow ones.
func DefaultWebSeedConfig() WebSeedConfig {
	return WebSeedConfig{Concurrency: 4, MaxRedirects: 5, MaxFailures: 5, MinBackoff: 2 * time.Second,
		MaxBackoff: 5 * time.Minute, MaxRetryAfter: 10 * time.Minute, ConnectTimeout: 15 * time.Second,
		StallTimeout: 30 * time.Second, HandBack: 10 * time.Second}
}

// Validate reports settings web seeds cannot work with.
func (c WebSeedConfig) Validate() error {
	switch {
	case c.Disable:
		return nil
	case c.Concurrency < 1 || c.Concurrency > 64:
		return errors.New("web seed concurrency must be 1..64")
	case c.MaxRedirects < 0 || c.MaxFailures < 0:
		return errors.New("web seed redirect and failure limits cannot be negative")
	case c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff || c.MaxRetryAfter <= 0:
		return errors.New("web seed backoff must be positive, its maximum at least its minimum")
	case c.ConnectTimeout <= 0 || c.StallTimeout <= 0 || c.HandBack <= 0:
		return errors.New("web seed timeouts must be positive")
	}
	return nil
}

// webBackoff is how long a web seed rests after its failures-th failure
// in a row: what the server asked for, if it did, or doubling from the
// minimum.
func webBackoff(c WebSeedConfig, failures int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.MaxRetryAfter)
	}
	d := c.MinBackoff
	for i := 1; i < failures && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
// Zero means none, or one that cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// parseWebSeed checks a url-list entry: http or https with a host.
func parseWebSeed(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// webFileURLs maps each file onto the server, as BEP 19 says: a
// single-file torrent's URL is the file unless it ends in a slash (then
// the name is added); a multi-file torrent's URL is the folder holding
// the torrent's top folder. Every path component is escaped.
func webFileURLs(base *url.URL, l *piece.Layout) []string {
	multi := l.Folder()
	out := make([]string, len(l.Files))
	for i, f := range l.Files {
		u := *base
		var comps []string
		if multi || strings.HasSuffix(u.Path, "/") {
			comps = f.Path
			if !multi {
				comps = f.Path[len(f.Path)-1:]
			}
		}
		if len(comps) > 0 {
			esc := make([]string, len(comps))
			for k, c := range comps {
				esc[k] = url.PathEscape(c)
			}
			raw := u.EscapedPath()
			if !strings.HasSuffix(raw, "/") {
				raw += "/"
			}
			raw += strings.Join(esc, "/")
			p, err := url.PathUnescape(raw)
			if err != nil {
				p = raw
			}
			u.Path, u.RawPath = p, raw
		}
		out[i] = u.String()
	}
	return out
}

// webError is a failed request and what to do about it.
type webError struct {
	err error
	// permanent failures (404, a server that ignores ranges or sends
	// the wrong ones) drop the web seed; others are retried.
	permanent  bool
	retryAfter time.Duration
}

func (e *webError) Error() string { return e.err.Error() }
func (e *webError) Unwrap() error { return e.err }

var errTooManyRedirects = errors.New("too many redirects")

// newWebClient is an HTTP client for one web seed: bounded connections,
// dial and header timeouts, redirects within limits, no compression (a
// range of compressed bytes is not the file's).
func newWebClient(c WebSeedConfig) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   c.ConnectTimeout,
		ResponseHeaderTimeout: c.StallTimeout,
		MaxConnsPerHost:       c.Concurrency,
		MaxIdleConnsPerHost:   c.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > c.MaxRedirects {
			return fmt.Errorf("%w (more than %d)", errTooManyRedirects, c.MaxRedirects)
		}
		return nil
	}}
}

// webJob is a run of blocks the loop handed a web seed, in torrent order.
type webJob struct {
	ctx    context.Context
	gen    uint64 // the web seed's generation when it was handed out
	seq    uint64
	blocks []picker.Block
}

// webEvent is a fetched block, or the end of a job (done, with err).
type webEvent struct {
	ws    *webSeed
	gen   uint64
	seq   uint64
	blk   picker.Block
	buf   *[]byte
	n     int
	done  bool
	err   error
	bytes int64 // done: body bytes the job read, wanted or not
}

// webFetcher is what a web seed's workers share; nothing in it changes
// once they start.
type webFetcher struct {
	ws     *webSeed // passed back in events, never read here
	client *http.Client
	layout *piece.Layout
	urls   []string
	credit diskCredit
	// limit waits for the torrent's and the session's download rate
	// limits before each block is read, as a peer's blocks do.
	limit  func(context.Context, int) error
	events chan<- webEvent
	cfg    WebSeedConfig
	agent  string // User-Agent
}

// work fetches jobs until ctx ends.
func (f *webFetcher) work(ctx context.Context, jobs <-chan webJob) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-jobs:
			var n int64
			err := j.ctx.Err() // taken back before it started
			if err == nil {
				n, err = f.fetch(j)
			}
			select {
			case f.events <- webEvent{ws: f.ws, gen: j.gen, seq: j.seq, done: true, err: err, bytes: n}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// fetch reads a job's blocks, a run of contiguous ones at a time, and
// sends each to the loop as it fills; it returns the bytes it read.
func (f *webFetcher) fetch(j webJob) (int64, error) {
	var read int64
	for start := 0; start < len(j.blocks); {
		end := start + 1
		off, n := f.blockSpan(j.blocks[start])
		for end < len(j.blocks) {
			o, m := f.blockSpan(j.blocks[end])
			if o != off+n {
				break
			}
			n += m
			end++
		}
		rr := &rangeReader{f: f, ctx: j.ctx, spans: f.layout.Spans(nil, off, n)}
		err := f.sendRun(j, j.blocks[start:end], rr)
		read += rr.read
		rr.close()
		if err != nil {
			return read, err
		}
		start = end
	}
	return read, nil
}

func (f *webFetcher) blockSpan(b picker.Block) (off, n int64) {
	begin, length := f.layout.BlockSpan(b.Piece, b.Index)
	return f.layout.PieceOffset(b.Piece) + int64(begin), int64(length)
}

// sendRun fills one block after another from rr. Each waits for the rate
// limits and takes a disk credit first, as a peer's blocks do: a fast
// server waits for the limits and the disk.
func (f *webFetcher) sendRun(j webJob, blocks []picker.Block, rr *rangeReader) error {
	for _, b := range blocks {
		_, n := f.blockSpan(b)
		if err := rr.wait(f.limit, int(n)); err != nil {
			return err
		}
		if !f.credit.acquire(j.ctx) {
			return j.ctx.Err()
		}
		buf := getBlock()
		if _, err := io.ReadFull(rr, (*buf)[:n]); err != nil {
			putBlock(buf)
			f.credit.release()
			return err
		}
		select {
		case f.events <- webEvent{ws: f.ws, gen: j.gen, seq: j.seq, blk: b, buf: buf, n: int(n)}:
		case <-j.ctx.Done():
			putBlock(buf)
			f.credit.release()
			return j.ctx.Err()
		}
	}
	return nil
}

// rangeReader reads a range of the torrent's bytes from the server, one
// GET per file it spans; pad files read as zeros without a request.
type rangeReader struct {
	f     *webFetcher
	ctx   context.Context
	spans []piece.Span
	body  *stallBody
	pad   bool
	left  int64 // of the current span
	read  int64
}

func (r *rangeReader) Read(p []byte) (int, error) {
	for {
		if r.left == 0 {
			r.close()
			if len(r.spans) == 0 {
				return 0, io.EOF
			}
			sp := r.spans[0]
			r.spans = r.spans[1:]
			r.left = sp.Length
			if r.pad = r.f.layout.Files[sp.File].Pad; !r.pad {
				b, err := r.f.get(r.ctx, sp.File, sp.Offset, sp.Length)
				if err != nil {
					r.left = 0
					return 0, err
				}
				r.body = b
			}
		}
		p = p[:min(int64(len(p)), r.left)]
		if r.pad {
			clear(p)
			r.left -= int64(len(p))
			return len(p), nil
		}
		n, err := r.body.Read(p)
		r.left -= int64(n)
		r.read += int64(n)
		if n > 0 {
			return n, nil
		}
		if err == io.EOF {
			return 0, &webError{err: fmt.Errorf("%s: body ended %d bytes short", r.body.url, r.left)}
		}
		if err != nil {
			return 0, err
		}
	}
}

// wait takes n bytes from limit before they are read. The server is
// not stalling meanwhile (we are not reading), so the body's stall timer
// stops until the wait ends.
func (r *rangeReader) wait(limit func(context.Context, int) error, n int) error {
	if limit == nil {
		return nil
	}
	if r.body != nil {
		r.body.timer.Stop()
		defer r.body.timer.Reset(r.body.stall)
	}
	return limit(r.ctx, n)
}

func (r *rangeReader) close() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

// get asks for bytes [off, off+n) of file i and checks the answer is
// those bytes: a 206 with the right Content-Range, or a 200 when the range
// starts the file (some servers ignore ranges; its body is read no
// further than asked).
func (f *webFetcher) get(ctx context.Context, i int, off, n int64) (*stallBody, error) {
	u := f.urls[i]
	shown := redactedURL(u) // errors are logged: no passwords in them
	ctx, cancel := context.WithCancel(ctx)
	b := &stallBody{url: shown, cancel: cancel, stall: f.cfg.StallTimeout}
	b.timer = time.AfterFunc(b.stall, func() { b.stalled.Store(true); cancel() })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		b.Close()
		return nil, &webError{err: err, permanent: true}
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	req.Header.Set("User-Agent", f.agent)
	resp, err := f.client.Do(req)
	if err != nil {
		b.Close()
		if b.stalled.Load() {
			return nil, &webError{err: fmt.Errorf("%s: no answer within %v", shown, b.stall)}
		}
		return nil, &webError{err: err, permanent: errors.Is(err, errTooManyRedirects)}
	}
	b.ReadCloser = resp.Body
	fail := func(permanent bool, format string, args ...any) (*stallBody, error) {
		b.Close()
		return nil, &webError{err: fmt.Errorf("%s: "+format, append([]any{shown}, args...)...), permanent: permanent,
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		first, last, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != off || last < off+n-1 {
			return fail(true, "asked for bytes %d-%d, got %q", off, off+n-1, resp.Header.Get("Content-Range"))
		}
	case code == http.StatusOK:
		if off != 0 {
			return fail(true, "the server ignores range requests")
		}
	case code == http.StatusTooManyRequests || code >= 500:
		return fail(false, "%s", resp.Status)
	default:
		return fail(true, "%s", resp.Status)
	}
	return b, nil
}

// parseContentRange reads "bytes FIRST-LAST/SIZE".
func parseContentRange(v string) (first, last int64, ok bool) {
	v, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, _, _ := strings.Cut(v, "/")
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first >= 0 && last >= first
}

// stallBody is a response body that fails once no byte came for stall:
// the whole transfer may take long, a silent one may not.
type stallBody struct {
	io.ReadCloser
	url     string
	cancel  context.CancelFunc
	timer   *time.Timer
	stall   time.Duration
	stalled atomic.Bool
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.stall)
	}
	if err != nil && err != io.EOF && b.stalled.Load() {
		err = &webError{err: fmt.Errorf("%s: no data for %v", b.url, b.stall)}
	}
	return n, err
}

func (b *stallBody) Close() error {
	b.timer.Stop()
	b.cancel()
	if b.ReadCloser != nil {
		return b.ReadCloser.Close()
	}
	return nil
}
