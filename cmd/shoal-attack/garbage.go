package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"
)

// garbageKind is one malformed opening a peer can send after a valid
// handshake.
type garbageKind struct {
	name string
	// send writes the garbage; done closes when the target hung up.
	send func(o *opts, p *peer, done <-chan struct{}) error
}

func garbageKinds(o *opts) []garbageKind {
	kinds := []garbageKind{
		{"random bytes", sendRandom},
		{"length 0xFFFFFFF0", func(o *opts, p *peer, _ <-chan struct{}) error {
			// A piece message claiming 4 GiB; the rest never comes.
			return p.send(append(u32s(0xFFFFFFF0), msgPiece, 0, 0, 0, 0, 0, 0, 0, 0), 5*time.Second)
		}},
		{"have out of range", func(o *opts, p *peer, _ <-chan struct{}) error {
			return p.send(frame(msgHave, u32s(uint32(o.numPieces))), 5*time.Second)
		}},
		{"request 1 MiB", func(o *opts, p *peer, _ <-chan struct{}) error {
			return p.send(append(frame(msgInterested), frame(msgRequest, u32s(0, 0, 1<<20))...), 5*time.Second)
		}},
	}
	if o.numPieces%8 != 0 {
		kinds = append(kinds, garbageKind{"bitfield spare bits", func(o *opts, p *peer, _ <-chan struct{}) error {
			// No pieces, but the bits past the last piece set: the first
			// message, as BEP 3 wants a bitfield.
			bf := make([]byte, (o.numPieces+7)/8)
			bf[len(bf)-1] = 0xFF >> (o.numPieces % 8)
			return p.send(frame(msgBitfield, bf), 5*time.Second)
		}})
	} else {
		o.say("skipping bitfield spare bits: a torrent of %d pieces has none", o.numPieces)
	}
	return kinds
}

// sendRandom floods random bytes until the target hangs up (or 64 MiB,
// which no robust target reads).
func sendRandom(o *opts, p *peer, done <-chan struct{}) error {
	buf := make([]byte, 16<<10)
	for sent := 0; sent < 64<<20; sent += len(buf) {
		select {
		case <-done:
			return nil
		default:
		}
		rand.Read(buf)
		if err := p.send(buf, time.Second); err != nil {
			return nil // the target closed on us: that is the point
		}
	}
	return nil
}

// runGarbage opens a peer per kind of garbage, each from its own address,
// and checks the target drops every one within o.dropWithin. It repeats
// every o.interval until ctx ends; "ready" follows the first round.
func runGarbage(ctx context.Context, o *opts) (string, error) {
	kinds := garbageKinds(o)
	interval := orDefault(o.interval, 100*time.Millisecond)
	var mu sync.Mutex
	dropped, kept, refused := map[string]int{}, map[string]int{}, map[string]int{}
	var first, wg sync.WaitGroup
	first.Add(len(kinds))
	for _, k := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			once := sync.OnceFunc(first.Done)
			defer once()
			for ctx.Err() == nil {
				res := garbageRound(ctx, o, k)
				mu.Lock()
				switch res {
				case roundDropped:
					dropped[k.name]++
				case roundKept:
					kept[k.name]++
					o.say("%s: not dropped within %v", k.name, o.dropWithin)
				case roundRefused:
					refused[k.name]++
				}
				mu.Unlock()
				once()
				select {
				case <-ctx.Done():
				case <-time.After(interval):
				}
			}
		}()
	}
	firstDone := make(chan struct{})
	go func() { first.Wait(); close(firstDone) }()
	select {
	case <-firstDone:
		o.ready()
	case <-ctx.Done():
	}
	wg.Wait()
	var parts, bad []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s: %d dropped, %d kept, %d refused at the handshake",
			k.name, dropped[k.name], kept[k.name], refused[k.name]))
		if kept[k.name] > 0 || dropped[k.name] == 0 && refused[k.name] == 0 {
			bad = append(bad, k.name)
		}
	}
	summary := strings.Join(parts, "; ")
	if len(bad) > 0 {
		return summary, fmt.Errorf("not dropped: %s", strings.Join(bad, ", "))
	}
	return summary, nil
}

type roundResult int

const (
	roundRefused roundResult = iota // the handshake failed (banned, say)
	roundDropped
	roundKept
	roundCancelled
)

func garbageRound(ctx context.Context, o *opts, k garbageKind) roundResult {
	p, err := dialPeer(ctx, o.target, o.src.get(), o.infoHash, reserved(false, false), 10*time.Second)
	if err != nil {
		if ctx.Err() != nil {
			return roundCancelled
		}
		return roundRefused
	}
	defer p.close()
	stop := context.AfterFunc(ctx, p.close)
	defer stop()
	done := make(chan bool, 1)
	hungUp := make(chan struct{})
	go func() {
		d := p.awaitDrop(o.dropWithin)
		if d {
			close(hungUp)
		}
		done <- d
	}()
	k.send(o, p, hungUp)
	d := <-done
	switch {
	case ctx.Err() != nil:
		return roundCancelled
	case d:
		return roundDropped
	}
	return roundKept
}
