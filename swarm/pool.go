package swarm

import (
	"sync"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// blockPool recycles 16 KiB block buffers between socket reads, disk
// writes, hashing and uploads, so the data path allocates nothing per block.
var blockPool = sync.Pool{New: func() any { b := make([]byte, wire.MaxBlock); return &b }}

func getBlock() *[]byte { return blockPool.Get().(*[]byte) }

func putBlock(b *[]byte) {
	if b != nil && cap(*b) >= wire.MaxBlock {
		*b = (*b)[:wire.MaxBlock]
		blockPool.Put(b)
	}
}
