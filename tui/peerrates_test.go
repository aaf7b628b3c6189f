package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/shoal-torrent/shoal/swarm"
)

// TestPeerRateHistory: each peer's rates are kept by address across
// snapshots (whatever order the peers come in), bounded, forgotten when
// the peer goes, and drawn in the peer pane with their peak.
func TestPeerRateHistory(t *testing.T) {
	eng := &fakeEngine{}
	m := New(eng, 500*time.Millisecond)
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	for i := range 200 {
		s := snapshot("album", swarm.StateDownloading, 0.5)
		s.Peers[0].DownRate = float64(i%10) * 1000
		s.Peers[1].DownRate = 7
		if i%2 == 1 {
			s.Peers[0], s.Peers[1] = s.Peers[1], s.Peers[0]
		}
		m = update(t, m, ItemsMsg{{Label: "album", Snap: s}})
	}
	it := m.items[0]
	a, b := m.peerHist[peerKey(it, "127.0.0.1:6881")], m.peerHist[peerKey(it, "127.0.0.1:6882")]
	if len(a.down) != peerHistoryLen || len(b.down) != peerHistoryLen {
		t.Fatalf("histories of %d and %d samples, want %d each", len(a.down), len(b.down), peerHistoryLen)
	}
	if a.down[len(a.down)-1] != 9000 || b.down[0] != 7 || b.down[len(b.down)-1] != 7 {
		t.Fatalf("samples went to the wrong peer: %v / %v", a.down[len(a.down)-3:], b.down[:3])
	}
	v := update(t, m, keyMsg("enter")).View()
	if !strings.Contains(v, "peak  8.8 KiB/s") || !strings.Contains(v, "last 1m") || !strings.Contains(v, "█") {
		t.Fatalf("peer pane lacks the rate graph and its scale:\n%s", v)
	}
	s := snapshot("album", swarm.StateDownloading, 0.5)
	s.Peers = s.Peers[:1]
	m = update(t, m, ItemsMsg{{Label: "album", Snap: s}})
	if _, ok := m.peerHist[peerKey(it, "127.0.0.1:6882")]; ok || len(m.peerHist) != 1 {
		t.Fatalf("a peer that left is still kept: %d histories", len(m.peerHist))
	}
}

// TestPeerHistoriesBounded: a swarm of thousands of peers keeps at most
// maxPeerHistories histories, the selected torrent's among them.
func TestPeerHistoriesBounded(t *testing.T) {
	var items []Item
	for ti := range 3 {
		s := snapshot(fmt.Sprintf("t%d", ti), swarm.StateDownloading, 0.5)
		s.Peers = nil
		for p := range 1500 {
			s.Peers = append(s.Peers, swarm.PeerSnapshot{Addr: fmt.Sprintf("10.0.%d.%d:1", p/250, p%250), DownRate: 1})
		}
		items = append(items, Item{Label: s.Name, Snap: s})
	}
	m := New(&fakeEngine{}, 500*time.Millisecond)
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30}, ItemsMsg(items), keyMsg("G"), ItemsMsg(items))
	if len(m.peerHist) != maxPeerHistories {
		t.Fatalf("%d peer histories, want at most %d", len(m.peerHist), maxPeerHistories)
	}
	if _, ok := m.peerHist[peerKey(items[2], "10.0.5.249:1")]; !ok {
		t.Fatal("the selected torrent's last peer has no history")
	}
}
