package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// runPex is one peer sending o.addrs made-up addresses over ut_pex,
// o.perMsg a message. A target that keeps every address grows without
// bound (issue 9, item 5). The addresses are on loopback (127.1.0.0 on)
// at o.pexPort, a closed port, so a target that dials them reaches
// nothing off this machine and fails at once.
//
// After the flood it asks for metadata piece 0: the target handles one
// connection's messages in order, so its answer means every PEX message
// before it was handled too. Then it stays connected until ctx ends.
func runPex(ctx context.Context, o *opts) (string, error) {
	const timeout = 10 * time.Second
	if o.perMsg < 1 || o.addrs < 0 || o.pexPort < 1 || o.pexPort > 65535 {
		return "", errors.New("-per-msg must be at least 1, -addrs not negative, -pex-port 1..65535")
	}
	if o.addrs > 1<<24 {
		return "", errors.New("-addrs above 2^24 would leave 127/8")
	}
	p, err := dialPeer(ctx, o.target, o.src.get(), o.infoHash, reserved(true, true), timeout)
	if err != nil {
		return "", err
	}
	defer p.close()
	stop := context.AfterFunc(ctx, p.close)
	defer stop()
	if err := p.send(extHandshake(map[string]int{"ut_pex": ourPex, "ut_metadata": ourMetadata}), timeout); err != nil {
		return "", err
	}
	m, err := p.theirExtensions(timeout)
	if err != nil {
		return "", err
	}
	id := m["ut_pex"]
	if id <= 0 || id > 255 {
		return "", errors.New("target does not offer ut_pex (a private torrent?)")
	}
	// A reader drains the target's messages, and watches for the answer
	// to the metadata request that marks the end of the flood.
	answered, gone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(gone)
		seen := false
		for {
			msg, err := p.read(10 * time.Minute)
			if err != nil {
				return
			}
			if !seen && msg.id == msgExtended && len(msg.payload) > 0 && msg.payload[0] == ourMetadata {
				seen = true
				close(answered)
			}
		}
	}()
	msgs := 0
	for i := 0; i < o.addrs; i += o.perMsg {
		var added, flags []byte
		for k := i; k < min(i+o.perMsg, o.addrs); k++ {
			added = binary.BigEndian.AppendUint32(added, (127<<24|1<<16)+uint32(k))
			added = binary.BigEndian.AppendUint16(added, uint16(o.pexPort))
			flags = append(flags, 0x12) // a reachable seed: as tempting as it gets
		}
		msg := extMsg(id, map[string]any{"added": string(added), "added.f": string(flags), "dropped": ""}, nil)
		if err := p.send(msg, timeout); err != nil {
			return fmt.Sprintf("target closed the connection after %d PEX messages", msgs), nil
		}
		msgs++
	}
	o.say("sent %d addresses in %d PEX messages", o.addrs, msgs)
	if mid := m["ut_metadata"]; mid > 0 && mid <= 255 {
		if err := p.send(extMsg(mid, map[string]int{"msg_type": 0, "piece": 0}, nil), timeout); err != nil {
			return fmt.Sprintf("target closed the connection after all %d PEX messages", msgs), nil
		}
		select {
		case <-answered:
			o.say("target handled them all")
		case <-gone:
			o.ready()
			return fmt.Sprintf("target closed the connection after the %d PEX messages", msgs), nil
		case <-time.After(30 * time.Second):
			return "", errors.New("target did not answer a metadata request within 30 s of the PEX flood")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	o.ready()
	select {
	case <-gone:
		if ctx.Err() == nil {
			return fmt.Sprintf("%d addresses sent; the target closed the connection later", o.addrs), nil
		}
	case <-ctx.Done():
	}
	return fmt.Sprintf("%d addresses sent in %d messages; still connected at the end", o.addrs, msgs), nil
}
