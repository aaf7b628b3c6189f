package swarm

import (
	"context"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// torrentLimits are one torrent's own rate limits, applied on top of the
// session's: a block waits for both.
type torrentLimits struct {
	down, up atomic.Pointer[rate.Limiter]
	// bps is what was set, for RateLimits (a limiter rounds its burst).
	downBPS, upBPS atomic.Int64
}

// SetRateLimits changes this torrent's limits in bytes per second (0:
// only the session's apply); its connections follow at their next block.
func (t *Torrent) SetRateLimits(down, up int64) {
	t.limits.down.Store(newLimiter(down))
	t.limits.up.Store(newLimiter(up))
	t.limits.downBPS.Store(max(down, 0))
	t.limits.upBPS.Store(max(up, 0))
}

// RateLimits reports this torrent's own limits (0: none of its own).
func (t *Torrent) RateLimits() (down, up int64) {
	return t.limits.downBPS.Load(), t.limits.upBPS.Load()
}

// limiters returns the waits this torrent's connections apply per block:
// the torrent's limit, then the session's.
func (t *Torrent) limiters() (down, up func(context.Context, int) error) {
	sDown, sUp := t.s.limiters()
	both := func(p *atomic.Pointer[rate.Limiter], session func(context.Context, int) error) func(context.Context, int) error {
		return func(ctx context.Context, n int) error {
			if l := p.Load(); l != nil {
				if err := l.WaitN(ctx, n); err != nil {
					return err
				}
			}
			return session(ctx, n)
		}
	}
	return both(&t.limits.down, sDown), both(&t.limits.up, sUp)
}
