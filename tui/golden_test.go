package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/shoal-torrent/shoal/swarm"
)

// goldenAt is the fixed "now" of the golden fixture, so relative times
// in the views never change.
var goldenAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// richSnapshot is a torrent mid-download with enough of everything to
// scroll: 30 peers, 12 files (one skipped), two trackers.
func richSnapshot() *swarm.Snapshot {
	s := snapshot("Big.Buck.Bunny.2008.1080p.BluRay.x264-EXTENDED.EDITION", swarm.StateDownloading, 0.37)
	s.At = goldenAt
	s.NumPieces, s.Size = 600, 600<<20
	s.Left = int64(0.63 * float64(s.Size))
	s.Pieces, s.Availability = make([]byte, 600), make([]uint16, 600)
	for i := range s.Pieces {
		switch {
		case i%3 == 0 && i < 450:
			s.Pieces[i] = swarm.PieceHave
		case i%17 == 1:
			s.Pieces[i] = swarm.PieceDownloading
		}
		s.Availability[i] = uint16((i * 7 / 5) % 19)
	}
	s.Files = nil
	for i := range 12 {
		p := "normal"
		if i == 11 {
			p = "skip"
		}
		s.Files = append(s.Files, swarm.FileSnapshot{Path: fmt.Sprintf("Big Buck Bunny/extras/featurette number %02d with a long title.mkv", i), Size: 50 << 20, Progress: float64(i%4) / 3, Priority: p})
	}
	s.Peers = nil
	for i := range 30 {
		s.Peers = append(s.Peers, swarm.PeerSnapshot{Addr: fmt.Sprintf("127.0.0.%d:%d", i+2, 6881+i), Client: []string{"qBittorrent 4.6.5", "Transmission 4.0.6", "rtorrent 0.13.8"}[i%3],
			AmInterested: i%2 == 0, PeerChoking: i%4 == 2, PeerInterested: i%3 == 0, Optimistic: i == 3, Encrypted: i%5 == 0, UTP: i%7 == 0,
			Incoming: i%2 == 1, Source: []string{"tracker", "pex", "dht", "lsd"}[i%4], DownRate: float64(i * 40000), UpRate: float64(i * 1000),
			Progress: float64(i) / 30, Downloaded: int64(i) << 20, Uploaded: int64(i) << 18})
	}
	for i := range s.Peers {
		// A partial peer's bitfield, about as full as its Progress says.
		if i == 0 {
			continue
		}
		have := make([]byte, (s.NumPieces+7)/8)
		for j := range s.NumPieces {
			if (j*31+i*17)%30 < i {
				have[j/8] |= 0x80 >> (j % 8)
			}
		}
		s.Peers[i].Have = have
	}
	s.Seeds = 4
	s.Trackers = []swarm.TrackerSnapshot{
		{URL: "udp://tracker.example.org:6969/announce", Tier: 0, Status: "working", LastAnnounce: goldenAt.Add(-time.Minute), NextAnnounce: goldenAt.Add(4*time.Minute + 10*time.Second), Seeders: 12, Leechers: 40, PeersGot: 50},
		{URL: "http://127.0.0.1:6969/announce", Tier: 1, Status: "error", LastError: `Get "http://127.0.0.1:6969/announce?info_hash=...": context deadline exceeded`},
	}
	s.UploadSlots = []string{"127.0.0.3:6882", "127.0.0.5:6884", "127.0.0.4:6884"}
	s.Network = swarm.NetworkSnapshot{ListenPort: 6881, Forwarding: "upnp", ExternalIP: "203.0.113.7", ExternalPort: 6881, PortOpen: true}
	return s
}

func goldenEngine() *fakeEngine {
	items := []Item{{Label: "Big.Buck.Bunny.2008.1080p.BluRay.x264-EXTENDED.EDITION", Snap: richSnapshot()}}
	for i, st := range []swarm.State{swarm.StateSeeding, swarm.StatePaused, swarm.StateError, swarm.StateChecking, swarm.StateDownloading} {
		s := snapshot(fmt.Sprintf("debian-12.%d.0-amd64-netinst.iso", i), st, float64(i)/5)
		s.At = goldenAt
		if st == swarm.StateError {
			s.Error = "write /data/debian.iso: no space left on device"
		}
		items = append(items, Item{Label: s.Name, Snap: s})
	}
	return &fakeEngine{items: items}
}

// goldenModel is the fixture after enough polls to draw rate graphs.
func goldenModel(t *testing.T, w, h int) (*fakeEngine, Model) {
	eng := goldenEngine()
	m := New(eng, 500*time.Millisecond)
	m = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	base := eng.items[0].Snap.Peers
	for i := range 90 {
		s := *eng.items[0].Snap
		s.DownRate = float64((i*37)%50) * 40000
		if i%20 < 3 {
			s.DownRate = 0
		}
		s.UpRate = float64(i%30) * 10000
		// The peers' rates wander too (the last poll has the fixture's),
		// for the peer pane's graphs.
		s.Peers = slices.Clone(base)
		for j := range s.Peers {
			if f := float64((i*7+j*3)%11) / 10; i < 89 {
				s.Peers[j].DownRate *= f
				s.Peers[j].UpRate *= 1 - f/2
			}
		}
		eng.items[0].Snap = &s
		m = update(t, m, ItemsMsg(eng.Items()))
	}
	return eng, m
}

var goldenSizes = [][2]int{{80, 24}, {120, 40}, {200, 60}}

// TestGoldenScreens draws every screen at the three sizes the UI is
// designed for; go test ./tui -run Golden -update rewrites the files.
func TestGoldenScreens(t *testing.T) {
	for _, sz := range goldenSizes {
		w, h := sz[0], sz[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			_, m := goldenModel(t, w, h)
			screens := map[string]Model{
				"list": m,
				"help": update(t, m, keyMsg("?")),
			}
			d := update(t, m, keyMsg("enter"), keyMsg("j"), keyMsg("j"), keyMsg("j"))
			for i, n := range tabNames {
				screens[strings.ToLower(n)] = d
				d = update(t, d, keyMsg("tab"))
				if i == tabTrackers-1 {
					d = update(t, d, keyMsg("j"))
				}
			}
			for name, sm := range screens {
				t.Run(name, func(t *testing.T) {
					v := sm.View()
					fitsExactly(t, v, w, h)
					golden.RequireEqual(t, []byte(v))
				})
			}
		})
	}
}

// fitsExactly checks a view fills the terminal without spilling over.
func fitsExactly(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines in a %d-line terminal:\n%s", len(lines), h, view)
	}
	fitsIn(t, view, w, h)
}
