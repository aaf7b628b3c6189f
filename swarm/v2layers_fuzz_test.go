package swarm

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// FuzzLayersOver feeds arbitrary peer bytes to the piece layer reader: it
// never panics, and keeps only layers that prove against the roots (here
// roots no input can reach, so none).
func FuzzLayersOver(f *testing.F) {
	root := [32]byte{1, 2, 3}
	files := []meta.V2File{{Root: root, Length: 5 * 16 << 10}, {Root: [32]byte{9}, Length: 600 * 16 << 10}}
	ok := wire.HashMsg{Root: root, BaseLayer: 0, Index: 0, Length: 8, Hashes: make([][32]byte, 8)}
	f.Add(wire.AppendHashMsg(nil, wire.Hashes, &ok))
	f.Add(wire.AppendHashMsg(nil, wire.HashReject, &ok))
	f.Add(append(wire.AppendSimple(nil, wire.HaveAll), wire.AppendHashMsg(nil, wire.Hashes, &wire.HashMsg{Root: [32]byte{9}, Length: 512, ProofLayers: 1})...))
	f.Add([]byte{0, 0, 0, 5, 22, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, theirs := net.Pipe()
		defer ours.Close()
		go func() {
			go io.Copy(io.Discard, theirs) // our requests
			theirs.Write(data)
			theirs.Close()
		}()
		s := &Session{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		got, _ := s.layersOver(ctx, ours, wire.NewReader(ours, 0), time.Second, 16<<10, files)
		if len(got) != 0 {
			t.Fatalf("kept %d layers no input can prove", len(got))
		}
	})
}
