package tracker

import "math/rand/v2"

// selectPeers picks up to want peers for the requester from seeds and
// leechers (both of the requester's address family): all of them when
// they fit, otherwise a random subset. A seeder gets leechers first, since
// other seeders are of no use to it; a peer is never told about itself.
// It is pure: tests drive it with their own random source.
func selectPeers(dst []Peer, seeds, leechers []Peer, self PeerID, selfSeed bool, want int, rng *rand.Rand) []Peer {
	first, second := seeds, leechers
	if selfSeed {
		first, second = leechers, nil // seeds are useless to a seed
	}
	for _, group := range [][]Peer{first, second} {
		dst = pickFrom(dst, group, self, want, rng)
	}
	return dst
}

// pickFrom appends up to want-len(dst) random members of group.
func pickFrom(dst, group []Peer, self PeerID, want int, rng *rand.Rand) []Peer {
	need := want - len(dst)
	if need <= 0 || len(group) == 0 {
		return dst
	}
	if len(group) <= need+1 {
		for _, p := range group {
			if p.ID != self && len(dst) < want {
				dst = append(dst, p)
			}
		}
		return dst
	}
	// A random window of the group, starting anywhere and wrapping: O(need)
	// and unbiased in which peers appear across announces.
	start := rng.IntN(len(group))
	for k := 0; k < len(group) && len(dst) < want; k++ {
		p := group[(start+k)%len(group)]
		if p.ID != self {
			dst = append(dst, p)
		}
	}
	return dst
}
