package hostport

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Entries that are no HOST:PORT at all are skipped without a lookup and
// do not use up the MaxNames lookups the host names after them need.
func TestMagnetPeersJunkDoesNotUseTheNameQuota(t *testing.T) {
	var peers []string
	for i := range MaxNames + 4 {
		peers = append(peers, fmt.Sprintf("junk%d", i)) // no port
	}
	peers = append(peers, "localhost:6881", "127.0.0.1:1")
	out, skipped, over := MagnetPeers(context.Background(), peers)
	if over != 0 {
		t.Fatalf("%d names not looked up, want 0", over)
	}
	if len(skipped) != MaxNames+4 {
		t.Fatalf("%d skipped, want the %d junk entries", len(skipped), MaxNames+4)
	}
	for _, sk := range skipped {
		if !errors.Is(sk.Err, ErrNotHostPort) {
			t.Fatalf("%s skipped for %v", sk.Peer, sk.Err)
		}
	}
	var local, literal bool
	for _, a := range out {
		local = local || a.Addr().IsLoopback() && a.Port() == 6881
		literal = literal || a.String() == "127.0.0.1:1"
	}
	if !local || !literal {
		t.Fatalf("addresses %v, want localhost:6881 looked up and 127.0.0.1:1", out)
	}
}

// Past MaxNames host names, the rest are counted, not looked up.
func TestMagnetPeersBoundsLookups(t *testing.T) {
	var peers []string
	for range MaxNames + 3 {
		peers = append(peers, "localhost:6881")
	}
	if _, _, over := MagnetPeers(context.Background(), peers); over != 3 {
		t.Fatalf("over %d, want 3", over)
	}
}
