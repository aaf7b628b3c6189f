package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// runMetadata sends one ut_metadata request for piece o.piece. With 2^49,
// piece × 16384 is 2^63, which wraps negative in a server that multiplies
// before it bounds (issue 9, item 1). A robust target rejects the request
// or drops us; either way this waits for its answer, so "ready" means the
// request was handled, or the target is gone.
func runMetadata(ctx context.Context, o *opts) (string, error) {
	const timeout = 10 * time.Second
	p, err := dialPeer(ctx, o.target, o.src.get(), o.infoHash, reserved(true, true), timeout)
	if err != nil {
		return "", err
	}
	defer p.close()
	stop := context.AfterFunc(ctx, p.close)
	defer stop()
	if err := p.send(extHandshake(map[string]int{"ut_metadata": ourMetadata}), timeout); err != nil {
		return "", err
	}
	m, err := p.theirExtensions(timeout)
	if err != nil {
		return "", err
	}
	id := m["ut_metadata"]
	if id <= 0 || id > 255 {
		return "", fmt.Errorf("target does not offer ut_metadata")
	}
	req := extMsg(id, map[string]int64{"msg_type": 0, "piece": o.piece}, nil)
	if err := p.send(req, timeout); err != nil {
		return "", err
	}
	o.say("sent ut_metadata request for piece %d", o.piece)
	deadline := time.Now().Add(o.dropWithin)
	for {
		msg, err := p.read(time.Until(deadline))
		switch {
		case isTimeout(err):
			o.ready()
			return "", fmt.Errorf("no answer to the request within %v", o.dropWithin)
		case err != nil:
			o.ready()
			return "target closed the connection after the request (a crash looks the same from here)", nil
		case msg.id == msgExtended && len(msg.payload) > 0 && msg.payload[0] == ourMetadata:
			var reply struct {
				Type  int   `bencode:"msg_type"`
				Piece int64 `bencode:"piece"`
			}
			d := bencode.NewDecoder(bytes.NewReader(msg.payload[1:]))
			if err := d.Decode(&reply); err != nil {
				o.ready()
				return "", fmt.Errorf("target's ut_metadata answer: %w", err)
			}
			o.ready()
			if reply.Type != 2 {
				return "", fmt.Errorf("target answered msg_type %d for piece %d, want a reject (2)", reply.Type, reply.Piece)
			}
			return fmt.Sprintf("target rejected piece %d", reply.Piece), nil
		}
	}
}
