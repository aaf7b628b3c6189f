package swarm

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// localDHT starts n nodes on loopback that bootstrap from the first, so
// no test ever reaches the public routers.
func localDHT(t *testing.T, n int) []*DHT {
	t.Helper()
	first, err := NewDHT(DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	nodes := []*DHT{first}
	for i := 1; i < n; i++ {
		d, err := NewDHT(DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{first.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		d.Ping(first.Addr())
		nodes = append(nodes, d)
	}
	return nodes
}

func TestMagnetThroughLocalDHT(t *testing.T) {
	nodes := localDHT(t, 11)
	boot := []string{nodes[0].Addr().String()}
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "dht/a.bin", Size: 3 << 20}, piecetest.FileSpec{Path: "dht/b.bin", Size: 5000})
	withDHT := func(c *SessionConfig) { c.DHT = &DHTConfig{Bootstrap: boot} }
	seedS, _ := startSeeder(t, f, withDHT)
	// The seeder announces itself into the DHT; wait for one node to
	// accept it (an event the node reports), not for a guessed time.
	deadline := time.Now().Add(20 * time.Second)
	for seedS.DHT().Stats().SuccessfulOutboundAnnouncePeerQueries == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the seeder never announced into the DHT: %+v", seedS.DHT().Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Malformed KRPC at every node first: they must shrug it off.
	junk := [][]byte{
		[]byte(strings.Repeat("l", 100000)),
		[]byte("d1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ad1:ai1eeeeeeeeeeeeeeeeeeee"),
		[]byte("d1:t99999999999:xe"),
		[]byte("d1:ti1e1:y1:q1:q9:get_peers1:ad2:id3:abcee"),
		{0xff, 0x00, 0x13},
	}
	for _, n := range append(nodes, seedS.DHT()) {
		c, err := net.Dial("udp", n.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range junk {
			c.Write(j)
		}
		c.Close()
	}
	leechS := newTestSession(t, withDHT)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Only the infohash: no tracker, no peer address.
	m, found, err := leechS.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Lookup: leechS.DHTLookup()})
	if err != nil {
		t.Fatal(err)
	}
	dl := t.TempDir()
	tor := addTorrent(t, leechS, m, dl, found...)
	waitComplete(t, tor, 30*time.Second)
	sameContent(t, f, dl)
	if !containsAddr(found, seedS.Addr()) {
		t.Fatalf("the DHT found %v, not the seeder %v", found, seedS.Addr())
	}
}

func containsAddr(list []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

func TestDHTPeerStoreBoundsAndKeysByAddress(t *testing.T) {
	s := newDHTPeerStore(2, 3, time.Minute)
	ih := [20]byte{1}
	for port := 1; port <= 5; port++ {
		s.AddPeer(ih, krpc.NodeAddr{IP: []byte{10, 0, 0, 1}, Port: port}) // one IP, many ports
	}
	if got := len(s.GetPeers(ih)); got != 3 {
		t.Fatalf("%d peers kept, want the cap of 3 (and not 1: peers are keyed by address, not IP)", got)
	}
	s.AddPeer([20]byte{2}, krpc.NodeAddr{IP: []byte{10, 0, 0, 2}, Port: 1})
	s.AddPeer([20]byte{3}, krpc.NodeAddr{IP: []byte{10, 0, 0, 3}, Port: 1})
	if len(s.GetPeers([20]byte{3})) != 0 {
		t.Fatal("torrent cap ignored")
	}
	s.AddPeer(ih, krpc.NodeAddr{IP: []byte{10, 0, 0, 9}, Port: 0})
	s.AddPeer(ih, krpc.NodeAddr{IP: []byte{1, 2}, Port: 5})
	if len(s.GetPeers(ih)) != 3 {
		t.Fatal("malformed addresses stored")
	}
}

func TestDHTRoutingTableSavedAndReloaded(t *testing.T) {
	nodes := localDHT(t, 4)
	file := filepath.Join(t.TempDir(), "dht.nodes")
	d, err := NewDHT(DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{nodes[0].Addr().String()}, NodesFile: file})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		d.srv.Ping(netipUDP(n.Addr()))
	}
	if d.Nodes() == 0 {
		t.Fatal("no nodes after pinging four")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := NewDHT(DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{}, NodesFile: file})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	// Saved nodes are hints, in the table once they answer: with no
	// bootstrap node, only they can fill it.
	deadline := time.Now().Add(10 * time.Second)
	for again.Nodes() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("routing table not reloaded")
		}
		time.Sleep(20 * time.Millisecond) // polling the table's size
	}
}

// staleNodesFile writes a routing table of n nodes that no longer
// answer: loopback UDP ports bound and closed again.
func staleNodesFile(t *testing.T, n int) string {
	t.Helper()
	var nodes []krpc.NodeInfo
	for range n {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := addrOf(c.LocalAddr())
		c.Close()
		var id [20]byte
		rand.Read(id[:])
		nodes = append(nodes, krpc.NodeInfo{ID: id, Addr: krpc.NodeAddr{IP: a.Addr().AsSlice(), Port: int(a.Port())}})
	}
	file := filepath.Join(t.TempDir(), "dht.nodes")
	if err := dht.WriteNodesToFile(nodes, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestDHTBootstrapDespiteStaleTable: a routing table saved by an earlier
// run, whose nodes are all gone, must not shut out the bootstrap node the
// user names: the magnet is still found through it.
func TestDHTBootstrapDespiteStaleTable(t *testing.T) {
	nodes := localDHT(t, 4)
	boot := []string{nodes[0].Addr().String()}
	f := newFixture(t, 32<<10, piecetest.FileSpec{Path: "stale.bin", Size: 1 << 20})
	seedS, _ := startSeeder(t, f, func(c *SessionConfig) { c.DHT = &DHTConfig{Bootstrap: boot} })
	deadline := time.Now().Add(20 * time.Second)
	for seedS.DHT().Stats().SuccessfulOutboundAnnouncePeerQueries == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the seeder never announced into the DHT: %+v", seedS.DHT().Stats())
		}
		time.Sleep(50 * time.Millisecond) // polling the node's own counter
	}
	stale := staleNodesFile(t, 8)
	leechS := newTestSession(t, func(c *SessionConfig) { c.DHT = &DHTConfig{Bootstrap: boot, NodesFile: stale} })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, found, err := leechS.FetchMetadata(ctx, MetadataRequest{InfoHash: f.m.InfoHash, Lookup: leechS.DHTLookup()})
	if err != nil {
		t.Fatalf("magnet through the bootstrap node, with a stale table saved: %v", err)
	}
	if m.InfoHash != f.m.InfoHash || !containsAddr(found, seedS.Addr()) {
		t.Fatalf("found %v, not the seeder %v", found, seedS.Addr())
	}
}

// TestDHTRefusesBootstrapWithoutPort: anacrolix's resolver panics on a
// bootstrap address without a port, in a goroutine no one can recover.
func TestDHTRefusesBootstrapWithoutPort(t *testing.T) {
	d, err := NewDHT(DHTConfig{Addr: "127.0.0.1:0", Bootstrap: []string{"127.0.0.1"}})
	if err == nil {
		d.Close()
		t.Fatal("bootstrap node without a port accepted")
	}
	if !strings.Contains(err.Error(), "HOST:PORT") {
		t.Fatalf("unclear error: %v", err)
	}
}
