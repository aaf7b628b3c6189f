package swarm

import (
	"net/netip"
	"time"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// pexInterval is how often a peer gets our PEX message (BEP 11: at most
// once a minute).
const pexInterval = time.Minute

// maxPexAdded is how many added peers of one PEX message are heard.
const maxPexAdded = 50

// sendPex tells PEX-capable peers which peers we are connected to, as a
// change since what we last told each: first on the tick after its
// extension handshake, then at most once a minute.
func (l *loop) sendPex(now time.Time) {
	if l.t.m.Private {
		return
	}
	var current []netip.AddrPort
	var flags []byte
	for _, c := range l.conns {
		if a, ok := c.listenAddr(); ok {
			current = append(current, a)
			f := byte(wire.PexReachable)
			if c.seed {
				f |= wire.PexSeed
			}
			if c.encrypted {
				f |= wire.PexEncryption
			}
			flags = append(flags, f)
		}
	}
	for _, c := range l.conns {
		id := c.peerExt["ut_pex"]
		if id <= 0 || id > 255 || !c.pexAt.IsZero() && now.Sub(c.pexAt) < pexInterval {
			continue
		}
		self, _ := c.listenAddr()
		var added, dropped []netip.AddrPort
		var addedFlags []byte
		seen := map[netip.AddrPort]bool{}
		for i, a := range current {
			seen[a] = true
			if a != self && !c.pexSent[a] {
				added = append(added, a)
				addedFlags = append(addedFlags, flags[i])
			}
		}
		for a := range c.pexSent {
			if !seen[a] {
				dropped = append(dropped, a)
			}
		}
		c.pexAt = now
		if len(added) == 0 && len(dropped) == 0 {
			continue
		}
		if c.pexSent == nil {
			c.pexSent = map[netip.AddrPort]bool{}
		}
		for _, a := range added {
			c.pexSent[a] = true
		}
		for _, a := range dropped {
			delete(c.pexSent, a)
		}
		payload := wire.EncodePex(added, addedFlags, dropped)
		c.out.push(func(b []byte) []byte { return wire.AppendPayload(b, wire.Extended, byte(id), payload) })
	}
}
