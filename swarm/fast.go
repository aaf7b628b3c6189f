package swarm

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"
)

// allowedFastSet computes the BEP 6 allowed-fast set for a peer at addr:
// pieces it may request even while choked, so a newcomer gets started. The
// set depends only on the peer's /24 and the infohash, so a peer cannot get
// a bigger one by reconnecting from the same network.
func allowedFastSet(addr netip.Addr, infoHash [20]byte, numPieces, k int) []uint32 {
	if numPieces == 0 || !addr.Is4() && !addr.Is4In6() {
		return nil // BEP 6 defines the set for IPv4 only
	}
	k = min(k, numPieces)
	ip := addr.Unmap().As4()
	x := make([]byte, 0, 24)
	x = append(x, ip[0], ip[1], ip[2], 0)
	x = append(x, infoHash[:]...)
	var set []uint32
	seen := map[uint32]bool{}
	for len(set) < k {
		sum := sha1.Sum(x)
		x = sum[:]
		for i := 0; i < 5 && len(set) < k; i++ {
			idx := binary.BigEndian.Uint32(x[4*i:]) % uint32(numPieces)
			if !seen[idx] {
				seen[idx] = true
				set = append(set, idx)
			}
		}
	}
	return set
}
