package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// peerSources is what get and seed can find peers through for one torrent.
type peerSources struct {
	trackers   int  // announce URLs of the torrent or the magnet's tr
	noTrackers bool // --no-trackers
	private    bool // BEP 27: no DHT, PEX or LSD
	dht, lsd   bool // on for this session
	peers      int  // --peer and x.pe addresses
	webSeeds   int  // BEP 19 URLs: data without any peer
}

// noPeerSource says why no peer can ever be found, or "" when some source
// may produce one. Peer exchange is no source of its own: it needs a peer
// first. A torrent with none still takes peers that connect to it.
func (p peerSources) noPeerSource() string {
	private := p.private
	switch {
	case p.peers > 0, p.webSeeds > 0:
		return ""
	case p.trackers > 0 && !p.noTrackers:
		return ""
	case !private && (p.dht || p.lsd):
		return ""
	}
	var why []string
	switch {
	case p.trackers == 0 && private:
		why = append(why, "it is a private torrent with no trackers (private torrents use neither the DHT nor peer exchange)")
	case p.trackers == 0:
		why = append(why, "it has no trackers")
	case p.noTrackers:
		why = append(why, "--no-trackers is given")
	}
	if private && p.trackers > 0 {
		why = append(why, "it is private, so the DHT is not used")
	} else if !private && !p.dht {
		why = append(why, "the DHT is off (--no-dht)")
	}
	why = append(why, "no --peer is given")
	return joinWords(why)
}

// torrentSources counts the peer sources of a loaded torrent.
func (f *swarmFlags) torrentSources(m *meta.Torrent, peers []netip.AddrPort) peerSources {
	n := 0
	for _, tier := range m.Trackers {
		n += len(tier)
	}
	return peerSources{trackers: n, noTrackers: f.noTracker, private: m.Private, dht: !f.noDHT, lsd: f.lsd,
		peers: len(peers), webSeeds: len(m.WebSeeds)}
}

// magnetSources counts the peer sources of a magnet link before its
// metadata is known: its trackers, the DHT, and peers (--peer and the
// link's x.pe, resolved).
func (f *swarmFlags) magnetSources(mag *meta.Magnet, peers []netip.AddrPort) peerSources {
	return peerSources{trackers: len(mag.Trackers), noTrackers: f.noTracker, dht: !f.noDHT, lsd: f.lsd, peers: len(peers)}
}

// warnNoPeerSource tells, once, that a torrent will sit at 0% unless a
// peer happens to connect to it, instead of leaving a person to wonder.
func warnNoPeerSource(e env, r *reporter, name, infoHash string, p peerSources) {
	why := p.noPeerSource()
	if why == "" {
		return
	}
	text := fmt.Sprintf("%s: no peer can be found: %s; it gets only peers that connect to it (give one with --peer HOST:PORT)", name, why)
	tell(e, r, infoHash, text)
}

// warnTorrent prints what the parser skipped or renamed to load a
// torrent, one line each.
func warnTorrent(e env, r *reporter, m *meta.Torrent) {
	for _, w := range m.Warnings {
		tell(e, r, m.InfoHash.HexString(), fmt.Sprintf("%s: %s", m.Name, w))
	}
}

// warnNothingThere says when a torrent to seed has nothing at all in
// dir, most often --dir naming the torrent's own folder rather than the
// one that holds it: seeding then quietly turns into a download.
func warnNothingThere(e env, r *reporter, m *meta.Torrent, dir string) {
	top := m.Layout.Files[0].Path[0]
	if _, err := os.Lstat(filepath.Join(dir, top)); errors.Is(err, fs.ErrNotExist) {
		tell(e, r, m.InfoHash.HexString(), fmt.Sprintf("%s: nothing of it found in %s; --dir is the folder that contains %s (what is missing will be downloaded)", m.Name, dir, top))
	}
}

// tell prints a warning on stderr, and with --json as an event too, so a
// script sees it where it reads.
func tell(e env, r *reporter, infoHash, text string) {
	warn(e, "%s", text)
	if r != nil && r.json {
		r.event("warning", map[string]any{"info_hash": infoHash, "warning": text}, text)
	}
}

// magnetName is the name a magnet link gives, or its infohash.
func magnetName(mag *meta.Magnet) string {
	if mag.Name != "" {
		return mag.Name
	}
	return mag.InfoHash.HexString()
}
