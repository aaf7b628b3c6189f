package swarm

import (
	"testing"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// extHandshake returns a BEP 10 handshake asking us to use the given IDs.
func extHandshake(t testing.TB, m map[string]int) []byte {
	t.Helper()
	b, err := bencode.Marshal(map[string]any{"m": m})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMetadataRequestForHugePieceIsRejected(t *testing.T) {
	h := newHarness(t, harnessOpts{seed: true})
	p := h.connect(peerOpts{})
	p.sendExt(0, extHandshake(t, map[string]int{"ut_metadata": 2}))
	for _, piece := range []int{1 << 49, 1<<53 + 1, 1<<31 - 1, 1} {
		req, _ := bencode.Marshal(map[string]int{"msg_type": wire.MetadataRequest, "piece": piece})
		p.sendExt(wire.ExtMetadata, req)
		m := p.expect("ut_metadata reply", func(m *wire.Message) bool { return m.ID == wire.Extended && m.ExtID == 2 })
		got, err := wire.ParseMetadataMsg(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != wire.MetadataReject || got.Piece != piece {
			t.Fatalf("piece %d: got type %d piece %d, want a reject", piece, got.Type, got.Piece)
		}
	}
	// Piece 0 is still served: the loop survived.
	req, _ := bencode.Marshal(map[string]int{"msg_type": wire.MetadataRequest, "piece": 0})
	p.sendExt(wire.ExtMetadata, req)
	m := p.expect("ut_metadata data", func(m *wire.Message) bool { return m.ID == wire.Extended && m.ExtID == 2 })
	if got, _ := wire.ParseMetadataMsg(m.Payload); got.Type != wire.MetadataData {
		t.Fatalf("piece 0: type %d, want data", got.Type)
	}
}
