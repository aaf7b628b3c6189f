package meta

import (
	"errors"
	"fmt"
	"net"
	"strings"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	infohash_v2 "github.com/anacrolix/torrent/types/infohash-v2"
)

// Magnet is a parsed magnet link: enough to find peers and fetch the info
// dictionary from them.
type Magnet struct {
	// InfoHash is the 20-byte hash the swarm is known by: the v1
	// infohash (btih), or for a v2-only link the truncated v2 one.
	InfoHash metainfo.Hash
	// HasV1 is false for a v2-only link (btmh alone).
	HasV1 bool
	// V2InfoHash is the BEP 52 infohash of a v2 or hybrid link (btmh);
	// HasV2 says whether the link had one.
	V2InfoHash [32]byte
	HasV2      bool
	Name       string
	Trackers   []string
	// Peers are the x.pe addresses, host:port, given to dial directly.
	Peers []string
}

// IsMagnet tells a magnet link from a file path, so every command that takes
// a .torrent takes a magnet link too.
func IsMagnet(s string) bool {
	return strings.HasPrefix(strings.ToLower(s), "magnet:")
}

// ErrV2OnlyMagnet refuses a v2-only magnet link where it would have to be
// downloaded.
var ErrV2OnlyMagnet = errors.New("magnet link: v2-only (urn:btmh without urn:btih): shoal downloads only v1 and hybrid torrents so far")

// ParseMagnet accepts v1 and hybrid magnet links, with hex or base32 v1
// infohashes and BEP 52 btmh multihashes: the links shoal can download.
func ParseMagnet(s string) (*Magnet, error) {
	m, err := ParseAnyMagnet(s)
	if err == nil && !m.HasV1 {
		return nil, ErrV2OnlyMagnet
	}
	return m, err
}

// ParseAnyMagnet accepts v2-only magnet links too, for showing them.
func ParseAnyMagnet(s string) (*Magnet, error) {
	m, err := metainfo.ParseMagnetV2Uri(s)
	if err != nil {
		return nil, fmt.Errorf("magnet link: %s", printableErr(err))
	}
	out := &Magnet{Name: m.DisplayName, Trackers: m.Trackers}
	switch {
	case m.InfoHash.Ok:
		out.InfoHash, out.HasV1 = m.InfoHash.Value, true
	case m.V2InfoHash.Ok:
		out.InfoHash = *m.V2InfoHash.Value.ToShort()
	default:
		return nil, errors.New("magnet link: no urn:btih or urn:btmh infohash")
	}
	if m.V2InfoHash.Ok {
		out.V2InfoHash, out.HasV2 = m.V2InfoHash.Value, true
	}
	for _, pe := range m.Params["x.pe"] {
		if _, _, err := net.SplitHostPort(pe); err != nil {
			return nil, fmt.Errorf("magnet link: peer %s: %s", printable(pe), printableErr(err))
		}
		out.Peers = append(out.Peers, pe)
	}
	return out, nil
}

// printableErr is err's message with any raw bytes from the input quoted.
func printableErr(err error) string {
	if s := err.Error(); !isPrintable(s) {
		return printable(s)
	}
	return err.Error()
}

// Magnet returns the torrent's magnet link, with its trackers and name:
// btih for v1, btmh for v2-only, both for a hybrid.
func (t *Torrent) Magnet() string {
	var trackers []string
	for _, tier := range t.Trackers {
		trackers = append(trackers, tier...)
	}
	if t.V2 == nil {
		return metainfo.Magnet{InfoHash: t.InfoHash, DisplayName: t.Name, Trackers: trackers}.String()
	}
	m := metainfo.MagnetV2{V2InfoHash: g.Some(infohash_v2.T(t.V2.InfoHash)), DisplayName: t.Name, Trackers: trackers}
	if t.HasV1 {
		m.InfoHash = g.Some(t.InfoHash)
	}
	return m.String()
}
