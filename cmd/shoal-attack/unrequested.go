package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// runUnrequested poses as a seeder: it listens on o.listen, claims every
// piece, never unchokes, and sends garbage for the last block of every
// piece the target lacks, again every o.interval, unasked. A target that
// takes unrequested blocks lets one bad block spoil each piece an honest
// peer sends, and never learns whom to blame (issue 9, item 2). A robust
// target drops the blocks and then the connection.
func runUnrequested(ctx context.Context, o *opts) (string, error) {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	o.say("listening on %s", ln.Addr())
	o.ready()
	interval := orDefault(o.interval, 100*time.Millisecond)
	var conns, dropped, sent atomic.Int64
	var wg sync.WaitGroup
	for {
		nc, err := ln.Accept()
		if err != nil {
			break
		}
		conns.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, byTarget := feedGarbage(ctx, o, nc, interval)
			sent.Add(n)
			if byTarget {
				dropped.Add(1)
			}
		}()
	}
	wg.Wait()
	return fmt.Sprintf("%d connections from the target, %d unrequested blocks sent, %d connections closed by the target",
		conns.Load(), sent.Load(), dropped.Load()), nil
}

// feedGarbage serves one connection until it fails; it returns the blocks
// sent and whether the target hung up (rather than ctx ending).
func feedGarbage(ctx context.Context, o *opts, nc net.Conn, interval time.Duration) (int64, bool) {
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	p, err := acceptPeer(nc, o.infoHash, reserved(false, false), 10*time.Second)
	if err != nil {
		o.say("handshake: %v", err)
		return 0, ctx.Err() == nil
	}
	all := make([]byte, (o.numPieces+7)/8)
	for i := range o.numPieces {
		all[i/8] |= 0x80 >> (i % 8)
	}
	if err := p.send(frame(msgBitfield, all), 10*time.Second); err != nil {
		return 0, ctx.Err() == nil
	}
	// The reader keeps track of what the target has, so garbage goes only
	// where it can do harm.
	var mu sync.Mutex
	has := make([]bool, o.numPieces)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			m, err := p.read(10 * time.Minute)
			if err != nil {
				return
			}
			mu.Lock()
			switch {
			case m.id == msgHave && len(m.payload) == 4:
				if i := int(binary.BigEndian.Uint32(m.payload)); i < o.numPieces {
					has[i] = true
				}
			case m.id == msgBitfield:
				for i := range o.numPieces {
					if i/8 < len(m.payload) && m.payload[i/8]&(0x80>>(i%8)) != 0 {
						has[i] = true
					}
				}
			case m.id == msgHaveAll:
				for i := range has {
					has[i] = true
				}
			}
			mu.Unlock()
		}
	}()
	var sent int64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	garbage := make([]byte, blockSize)
	for {
		var batch []byte
		mu.Lock()
		for i := range o.numPieces {
			if has[i] {
				continue
			}
			size := o.pieceSize(i)
			if size <= blockSize {
				continue // it would be the piece's only sender, and named
			}
			begin := (size - 1) / blockSize * blockSize
			rand.Read(garbage)
			batch = append(batch, frame(msgPiece, u32s(uint32(i), uint32(begin)), garbage[:size-begin])...)
			sent++
		}
		mu.Unlock()
		if len(batch) > 0 {
			if err := p.send(batch, 30*time.Second); err != nil {
				return sent, ctx.Err() == nil
			}
		}
		select {
		case <-gone:
			return sent, ctx.Err() == nil
		case <-ctx.Done():
			return sent, false
		case <-tick.C:
		}
	}
}
