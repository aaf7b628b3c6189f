package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/shoal-torrent/shoal/swarm"
)

// The swarm screen says "DHT: off" when the torrent uses no DHT, and
// tells joining from off.
func TestSwarmScreenSaysWhetherTheDHTIsOff(t *testing.T) {
	for _, tc := range []struct {
		dht   bool
		nodes int
		want  string
	}{
		{false, 0, "DHT: off"},
		{true, 0, "DHT: joining (no nodes yet)"},
		{true, 1, "DHT: 1 node in the routing table"},
	} {
		eng, m := fixture()
		eng.items[1].Snap.DHT, eng.items[1].Snap.DHTNodes = tc.dht, tc.nodes
		m = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, ItemsMsg(eng.Items()), keyMsg("down"), keyMsg("enter"))
		for range 4 {
			m = update(t, m, keyMsg("tab"))
		}
		if v := m.View(); !strings.Contains(v, tc.want) {
			t.Errorf("DHT %v with %d nodes: no %q in\n%s", tc.dht, tc.nodes, tc.want, v)
		}
	}
}

// The selected peer's pieces are drawn from its bitfield: a dot where it
// lacks a piece, faint where it has what we have, the rarity where it
// brings a piece we need.
func TestPeerPaneDrawsItsBitfield(t *testing.T) {
	s := snapshot("album", swarm.StateDownloading, 0.5) // 64 pieces, the first 32 ours
	p := swarm.PeerSnapshot{Progress: 0.25, Have: make([]byte, 8)}
	for _, i := range []int{0, 1, 40, 41} {
		p.Have[i/8] |= 0x80 >> (i % 8)
	}
	m := New(&fakeEngine{}, 0)
	got := ansi.Strip(m.peerPieces(s, p, 80))
	want := "its pieces " + "██" + strings.Repeat("·", 38) + "01" + strings.Repeat("·", 22)
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// No bitfield for a partial peer: said, not drawn as empty.
	p.Have = nil
	if got := ansi.Strip(m.peerPieces(s, p, 80)); !strings.Contains(got, "not in this snapshot") {
		t.Errorf("without a bitfield: %q", got)
	}
	// A seed needs none.
	p.Progress = 1
	if got := ansi.Strip(m.peerPieces(s, p, 80)); strings.Contains(got, "·") || !strings.Contains(got, "██") {
		t.Errorf("seed: %q", got)
	}
}
