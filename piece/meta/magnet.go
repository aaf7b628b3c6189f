package meta

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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
	// WebSeeds are the ws= URLs (BEP 19 servers), used once the metadata
	// is known; only http and https ones, at most MaxMagnetWebSeeds.
	WebSeeds []string
	// Warnings says what of the link was skipped as unusable.
	Warnings []string
}

// MaxMagnetWebSeeds bounds the ws= URLs taken from one link (a pasted
// link must not start thousands of HTTP workers), and MaxWebSeedURL the
// length of each.
const (
	MaxMagnetWebSeeds = 16
	MaxWebSeedURL     = 2048
)

// IsMagnet tells a magnet link from a file path, so every command that takes
// a .torrent takes a magnet link too.
func IsMagnet(s string) bool {
	return strings.HasPrefix(strings.ToLower(s), "magnet:")
}

// checkMagnetHashes says in words what is wrong with a link's infohash,
// before the library's parser answers in its own ("length greater than
// remaining number of bytes in buffer").
func checkMagnetHashes(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return nil // the parser says what is wrong
	}
	for _, xt := range u.Query()["xt"] {
		switch {
		case strings.HasPrefix(xt, "urn:btih:"):
			if h := strings.TrimPrefix(xt, "urn:btih:"); len(h) != 40 && len(h) != 32 {
				return fmt.Errorf("magnet link: %s is not an infohash (want urn:btih: and 40 hex digits or 32 base32 letters)", printable(truncateText(xt, 90)))
			}
		case strings.HasPrefix(xt, "urn:btmh:"):
			h := strings.TrimPrefix(xt, "urn:btmh:")
			if len(h) != 68 || !strings.HasPrefix(h, "1220") || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
				return fmt.Errorf("magnet link: %s is not a v2 infohash (want urn:btmh:1220 and 64 hex digits, a SHA-256 multihash)", printable(truncateText(xt, 90)))
			}
		}
	}
	return nil
}

// truncateText keeps at most n bytes of s, marking a cut with "…".
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseMagnet accepts v1, hybrid and v2-only magnet links, with hex or
// base32 v1 infohashes and BEP 52 btmh multihashes. Unusable web seeds
// are skipped with a warning: the link works without them.
func ParseMagnet(s string) (*Magnet, error) {
	if err := checkMagnetHashes(s); err != nil {
		return nil, err
	}
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
	for _, ws := range m.Params["ws"] {
		if len(out.WebSeeds) == MaxMagnetWebSeeds {
			out.Warnings = append(out.Warnings, fmt.Sprintf("skipped web seeds past the first %d", MaxMagnetWebSeeds))
			break
		}
		if len(ws) > MaxWebSeedURL {
			out.Warnings = append(out.Warnings, fmt.Sprintf("skipped a web seed URL of %d bytes (at most %d)", len(ws), MaxWebSeedURL))
			continue
		}
		if u, err := url.Parse(ws); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			out.Warnings = append(out.Warnings, fmt.Sprintf("skipped web seed %s: not an http or https URL", printable(ws)))
			continue
		}
		out.WebSeeds = append(out.WebSeeds, ws)
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

// Magnet returns the torrent's magnet link, with its trackers, name and
// web seeds (ws=, as libtorrent's make_magnet_uri writes them): btih for
// v1, btmh for v2-only, both for a hybrid.
func (t *Torrent) Magnet() string {
	var trackers []string
	for _, tier := range t.Trackers {
		trackers = append(trackers, tier...)
	}
	var params url.Values
	if len(t.WebSeeds) > 0 {
		params = url.Values{"ws": t.WebSeeds}
	}
	if t.V2 == nil {
		return metainfo.Magnet{InfoHash: t.InfoHash, DisplayName: t.Name, Trackers: trackers, Params: params}.String()
	}
	m := metainfo.MagnetV2{V2InfoHash: g.Some(infohash_v2.T(t.V2.InfoHash)), DisplayName: t.Name, Trackers: trackers, Params: params}
	if t.HasV1 {
		m.InfoHash = g.Some(t.InfoHash)
	}
	return m.String()
}
