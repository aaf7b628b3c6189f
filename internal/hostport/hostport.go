// Package hostport turns the HOST:PORT peers people and magnet links
// name into addresses, for the command line and the daemon alike.
package hostport

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
)

// ErrNotHostPort is a peer that is no HOST:PORT at all.
var ErrNotHostPort = errors.New("not HOST:PORT")

// Lookup turns HOST:PORT into addresses. A host name stands for every
// address it has (localhost is 127.0.0.1 and ::1): the peer may listen
// on either, and the swarm drops a second connection to the same peer.
// named says whether a lookup was needed; a failed lookup's error is the
// resolver's.
func Lookup(ctx context.Context, p string) (addrs []netip.AddrPort, named bool, err error) {
	if ap, err := netip.ParseAddrPort(p); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, false, nil
	}
	host, port, err := split(p)
	if err != nil {
		return nil, false, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, true, err
	}
	for _, ip := range ips {
		addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), port))
	}
	return addrs, true, nil
}

// split takes a HOST:PORT apart; a port must be 1 to 65535.
func split(p string) (host string, port uint16, err error) {
	host, portText, err := net.SplitHostPort(p)
	n, perr := strconv.ParseUint(portText, 10, 16)
	if err != nil || host == "" || perr != nil || n == 0 {
		return "", 0, ErrNotHostPort
	}
	return host, uint16(n), nil
}

// MaxNames bounds how many host names of one magnet link are looked up:
// a link can list any number, each a DNS query.
const MaxNames = 16

// Skipped is a peer of a magnet link that was not used, and why.
type Skipped struct {
	Peer string
	Err  error
}

// MagnetPeers resolves a magnet link's x.pe peers. The link came from
// elsewhere, so a peer that cannot be resolved is skipped (and returned
// in skipped, for a warning), not fatal: the link's other sources may
// do. Host names past MaxNames are not looked up; over counts them.
// Only entries that need a lookup count toward MaxNames: junk is skipped
// without a query, so it cannot crowd out the names after it.
func MagnetPeers(ctx context.Context, peers []string) (out []netip.AddrPort, skipped []Skipped, over int) {
	names := 0
	for _, p := range peers {
		if _, err := netip.ParseAddrPort(p); err != nil {
			if _, _, err := split(p); err != nil {
				skipped = append(skipped, Skipped{p, err})
				continue
			}
			if names == MaxNames {
				over++
				continue
			}
			names++
		}
		addrs, _, err := Lookup(ctx, p)
		if err != nil {
			skipped = append(skipped, Skipped{p, err})
			continue
		}
		out = append(out, addrs...)
	}
	return out, skipped, over
}
