package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runHalfOpen keeps o.conns TCP connections open to the target that never
// finish the handshake: half send nothing, half the first 20 bytes of
// one. Each costs the target a descriptor until it closes it; with enough
// of them a target that does not bound them runs out and fails at
// whatever opens a file next (issue 9, item 4). A connection the target
// closes is opened again after o.interval, so the pressure stays.
func runHalfOpen(ctx context.Context, o *opts) (string, error) {
	n := orDefault(o.conns, 300)
	interval := orDefault(o.interval, time.Second)
	var open, maxOpen, opened, closedByTarget, failed, noFDs atomic.Int64
	dials := make(chan struct{}, 128) // dials in flight
	var firstTry sync.WaitGroup
	firstTry.Add(n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(firstTry.Done)
			defer once()
			for ctx.Err() == nil {
				dials <- struct{}{}
				nc, err := dialer(o.src.get(), 5*time.Second).DialContext(ctx, "tcp", o.target)
				<-dials
				once()
				if err != nil {
					if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
						noFDs.Add(1)
					} else if ctx.Err() == nil {
						failed.Add(1)
					}
				} else {
					opened.Add(1)
					cur := open.Add(1)
					for m := maxOpen.Load(); cur > m && !maxOpen.CompareAndSwap(m, cur); m = maxOpen.Load() {
					}
					stop := context.AfterFunc(ctx, func() { nc.Close() })
					if i%2 == 1 {
						nc.Write([]byte(pstr)) // the start of a handshake, never the rest
					}
					io.Copy(io.Discard, nc) // until the target (or ctx) closes it
					if stop() {
						closedByTarget.Add(1)
					}
					nc.Close()
					open.Add(-1)
				}
				select {
				case <-ctx.Done():
				case <-time.After(interval):
				}
			}
		}()
	}
	tried := make(chan struct{})
	go func() { firstTry.Wait(); close(tried) }()
	select {
	case <-tried:
		o.say("%d connections tried, %d open", n, open.Load())
		o.ready()
	case <-ctx.Done():
	}
	wg.Wait()
	return fmt.Sprintf("%d slots: %d connections opened (at most %d at once), %d closed by the target, %d dials failed, %d failed for want of descriptors here",
		n, opened.Load(), maxOpen.Load(), closedByTarget.Load(), failed.Load(), noFDs.Load()), nil
}
