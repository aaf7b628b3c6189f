package meta

import (
	"fmt"
	"net"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

// Magnet is a parsed magnet link: enough to find peers and fetch the info
// dictionary from them.
type Magnet struct {
	InfoHash metainfo.Hash
	Name     string
	Trackers []string
	// Peers are the x.pe addresses, host:port, given to dial directly.
	Peers []string
}

// IsMagnet tells a magnet link from a file path, so every command that takes
// a .torrent takes a magnet link too.
func IsMagnet(s string) bool {
	return strings.HasPrefix(strings.ToLower(s), "magnet:")
}

// ParseMagnet accepts v1 magnet links with hex or base32 infohashes.
func ParseMagnet(s string) (*Magnet, error) {
	m, err := metainfo.ParseMagnetUri(s)
	if err != nil {
		return nil, fmt.Errorf("magnet link: %w", err)
	}
	out := &Magnet{InfoHash: m.InfoHash, Name: m.DisplayName, Trackers: m.Trackers}
	for _, pe := range m.Params["x.pe"] {
		if _, _, err := net.SplitHostPort(pe); err != nil {
			return nil, fmt.Errorf("magnet link: peer %q: %w", pe, err)
		}
		out.Peers = append(out.Peers, pe)
	}
	return out, nil
}
