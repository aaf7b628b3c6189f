// Package tracker is shoal's standalone BitTorrent tracker: HTTP (BEP 3, 7,
// 23, 48) and UDP (BEP 15) announce and scrape over a pluggable peer store,
// in memory by default or in Redis so several tracker processes can share
// swarms.
package tracker

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// InfoHash identifies a torrent.
type InfoHash [20]byte

// PeerID is a client's self-chosen 20-byte ID.
type PeerID [20]byte

// Event is what an announce reports about the peer's download.
type Event uint8

// Announce events, numbered as in BEP 15.
const (
	EventNone      Event = 0
	EventCompleted Event = 1
	EventStarted   Event = 2
	EventStopped   Event = 3
)

// Peer is one swarm member as the tracker stores it.
type Peer struct {
	ID   PeerID
	Addr netip.AddrPort
	Seed bool // left == 0
}

// AnnounceRequest is a validated announce, whichever protocol carried it.
type AnnounceRequest struct {
	InfoHash InfoHash
	Peer     Peer
	Event    Event
	NumWant  int
	// TTL is how long the peer stays listed without announcing again.
	TTL time.Duration
	Now time.Time
	// Buf, when set, is reused for the response's peers, so a busy
	// front-end allocates nothing per announce.
	Buf []Peer
}

// AnnounceResponse is what the store answers: some peers of the same
// address family, and the swarm's counts.
type AnnounceResponse struct {
	Peers      []Peer
	Seeders    int
	Leechers   int
	Downloaded int
}

// Scrape is one torrent's counts.
type Scrape struct {
	Seeders, Leechers, Downloaded int
}

// Totals sums the whole store, for /stats and metrics.
type Totals struct {
	Torrents, Seeders, Leechers int
}

// SwarmStats is one swarm's counts, for operators' views.
type SwarmStats struct {
	InfoHash   InfoHash
	Seeders    int
	Leechers   int
	Downloaded int
}

// SwarmLister is implemented by stores that can list their largest
// swarms cheaply enough for a monitoring endpoint.
type SwarmLister interface {
	TopSwarms(limit int, now time.Time) []SwarmStats
}

// ErrFull is returned when a store holds as many torrents or peers as it
// was allowed and cannot make room. The built-in stores evict instead
// (refusing newcomers would let a flood lock them out), so it is left for
// other backends.
var ErrFull = errors.New("tracker is full")

// Evictions counts what a store dropped to make room for newcomers.
type Evictions struct {
	Swarms, Peers int64
}

// EvictionCounter is implemented by stores that evict under pressure, so
// /metrics shows an operator when the caps are too small or a flood is on.
type EvictionCounter interface {
	Evictions() Evictions
}

// PeerStore keeps swarms. Announce updates the peer and picks peers for it
// in one step, so a backend can do both in one lock or one round trip.
// Implementations are safe for concurrent use. Every backend runs the
// conformance suite in storetest.
type PeerStore interface {
	Announce(ctx context.Context, req *AnnounceRequest) (AnnounceResponse, error)
	Scrape(ctx context.Context, hashes []InfoHash, now time.Time) ([]Scrape, error)
	Totals(ctx context.Context, now time.Time) (Totals, error)
	Close() error
}

// family keeps IPv4 and IPv6 swarms apart: a peer is only told about peers
// it can reach with the address family it announced from.
func family(a netip.AddrPort) uint8 {
	if a.Addr().Unmap().Is4() {
		return 4
	}
	return 6
}

// CompactAnnouncer is implemented by stores that keep peers in their
// compact wire form (BEP 23's 6 bytes, BEP 7's 18) and can copy them
// straight into an answer, sparing the front-end a Peer and an encoding
// per peer handed out: on a busy tracker that is most of the work left
// outside the kernel. The front-ends use it when the store has it and
// the client asked for compact peers.
type CompactAnnouncer interface {
	// AnnounceCompact is Announce with the chosen peers appended to dst
	// in compact form instead of returned as Peers; the choice is the
	// one Announce would make, cut to its first limit peers (what fits
	// in a UDP datagram). req.Buf is not used.
	AnnounceCompact(ctx context.Context, req *AnnounceRequest, dst []byte, limit int) (AnnounceResponse, []byte, error)
}
