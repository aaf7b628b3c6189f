package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// lookupTimeout bounds the name lookups of one command line's peers, so
// a dead resolver costs seconds, not the default minutes.
const lookupTimeout = 10 * time.Second

// maxPeerNames bounds how many host names of one magnet link are looked
// up: a link can list any number, each a DNS query.
const maxPeerNames = 16

// errNotHostPort is a peer that is no HOST:PORT at all.
var errNotHostPort = errors.New("not HOST:PORT")

// lookupHostPort turns HOST:PORT into addresses. A host name stands for
// every address it has (localhost is 127.0.0.1 and ::1): the peer may
// listen on either, and the swarm drops a second connection to the same
// peer. named says whether a lookup was needed.
func lookupHostPort(ctx context.Context, p string) (addrs []netip.AddrPort, named bool, err error) {
	if ap, err := netip.ParseAddrPort(p); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, false, nil
	}
	host, portText, err := net.SplitHostPort(p)
	port, perr := strconv.ParseUint(portText, 10, 16)
	if err != nil || host == "" || perr != nil || port == 0 {
		return nil, false, errNotHostPort
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, true, errors.New(netWords(err))
	}
	for _, ip := range ips {
		addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	return addrs, true, nil
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
		case errors.Is(err, errNotHostPort):
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
	var out []netip.AddrPort
	names, skipped := 0, 0
	for _, p := range mag.Peers {
		if _, err := netip.ParseAddrPort(p); err != nil {
			if names == maxPeerNames {
				skipped++
				continue
			}
			names++
		}
		addrs, _, err := lookupHostPort(ctx, p)
		if err != nil {
			tell(e, r, mag.InfoHash.HexString(), fmt.Sprintf("%s: skipping the magnet link's peer %s: %s", magnetName(mag), p, err))
			continue
		}
		out = append(out, addrs...)
	}
	if skipped > 0 {
		tell(e, r, mag.InfoHash.HexString(), fmt.Sprintf("%s: the magnet link names more than %d peers by host name; the other %d are not looked up",
			magnetName(mag), maxPeerNames, skipped))
	}
	return out
}
