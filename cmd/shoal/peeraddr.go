package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/shoal-torrent/shoal/internal/hostport"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// lookupTimeout bounds the name lookups of one command line's peers, so
// a dead resolver costs seconds, not the default minutes.
const lookupTimeout = 10 * time.Second

// lookupHostPort is hostport.Lookup with the resolver's error in words.
func lookupHostPort(ctx context.Context, p string) ([]netip.AddrPort, bool, error) {
	addrs, named, err := hostport.Lookup(ctx, p)
	if err != nil && !errors.Is(err, hostport.ErrNotHostPort) {
		err = errors.New(netWords(err))
	}
	return addrs, named, err
}

// peerAddrs resolves the --peer flags; a peer that cannot be resolved is
// an error, as the person named it.
func (f *swarmFlags) peerAddrs(ctx context.Context) ([]netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var out []netip.AddrPort
	for _, p := range f.peers {
		addrs, _, err := lookupHostPort(ctx, p)
		switch {
		case errors.Is(err, hostport.ErrNotHostPort):
			return nil, usageError{fmt.Errorf("--peer %q: want HOST:PORT, e.g. 192.168.1.20:6881, peer.example:6881 or [::1]:6881", p)}
		case err != nil:
			return nil, fmt.Errorf("--peer %q: %s", p, err)
		}
		out = append(out, addrs...)
	}
	return out, nil
}

// magnetPeers resolves a magnet link's x.pe peers, host names as --peer
// does. The link came from elsewhere, so a peer that cannot be resolved
// is warned of and skipped, not fatal: the link's other sources may do.
// Host names past maxPeerNames are skipped with one warning.
func magnetPeers(ctx context.Context, e env, r *reporter, mag *meta.Magnet) []netip.AddrPort {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	out, skipped, over := hostport.MagnetPeers(ctx, mag.Peers)
	for _, sk := range skipped {
		tell(e, r, mag.InfoHash.HexString(), fmt.Sprintf("%s: skipping the magnet link's peer %s: %s", magnetName(mag), sk.Peer, netWords(sk.Err)))
	}
	if over > 0 {
		tell(e, r, mag.InfoHash.HexString(), fmt.Sprintf("%s: the magnet link names more than %d peers by host name; the other %d are not looked up",
			magnetName(mag), hostport.MaxNames, over))
	}
	return out
}
