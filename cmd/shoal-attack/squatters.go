package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runSquatters opens o.conns connections (set it to the target's
// --max-peers) that handshake and then only send keep-alives: no
// interest, no pieces, nothing to choke. When every slot is full, an
// honest peer that connects is refused over and over (issue 9, item 3).
// A robust target evicts a squatter to admit it. A squatter that is
// dropped reconnects, as an attacker would.
//
// A connection counts as admitted once the target sends anything after
// the handshake (its extension handshake, which every squatter asks for):
// a target that accepts and closes again never gets that far.
func runSquatters(ctx context.Context, o *opts) (string, error) {
	n := orDefault(o.conns, 8)
	interval := orDefault(o.interval, time.Second)
	var admitted, refused, evicted atomic.Int64
	var firstTime sync.WaitGroup
	firstTime.Add(n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(firstTime.Done)
			defer once()
			for ctx.Err() == nil {
				switch squat(ctx, o, interval, once) {
				case squatRefused:
					refused.Add(1)
				case squatEvicted:
					admitted.Add(1)
					evicted.Add(1)
				case squatHeld:
					admitted.Add(1)
				}
				select {
				case <-ctx.Done():
				case <-time.After(interval): // pace reconnects
				}
			}
		}()
	}
	allIn := make(chan struct{})
	go func() { firstTime.Wait(); close(allIn) }()
	select {
	case <-allIn:
		o.say("%d squatters admitted", n)
		o.ready()
	case <-ctx.Done():
	}
	wg.Wait()
	return fmt.Sprintf("%d squatters: admitted %d times, evicted %d times, refused %d times",
		n, admitted.Load(), evicted.Load(), refused.Load()), nil
}

type squatEnd int

const (
	squatRefused squatEnd = iota // closed, or failed, before it was admitted
	squatEvicted                 // admitted, then closed by the target
	squatHeld                    // admitted, held until ctx ended
)

// squat holds one connection until the target closes it or ctx ends.
func squat(ctx context.Context, o *opts, interval time.Duration, admitted func()) squatEnd {
	const timeout = 10 * time.Second
	p, err := dialPeer(ctx, o.target, o.src.get(), o.infoHash, reserved(true, false), timeout)
	if err != nil {
		return squatRefused
	}
	defer p.close()
	stop := context.AfterFunc(ctx, p.close)
	defer stop()
	if _, err := p.read(timeout); err != nil {
		return squatRefused
	}
	admitted()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, err := p.read(10 * time.Minute); err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-gone:
			if ctx.Err() != nil {
				return squatHeld
			}
			return squatEvicted
		case <-ctx.Done():
			return squatHeld
		case <-tick.C:
			if p.send(keepAlive(), timeout) != nil {
				p.close()
				<-gone
				if ctx.Err() != nil {
					return squatHeld
				}
				return squatEvicted
			}
		}
	}
}
