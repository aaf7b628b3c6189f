package tracker

import "math/rand/v2"

// pick is which members of one group (seeds or leechers) an announce
// hands out: n of them, from start on, wrapping, skipping the
// requester's own index.
type pick struct {
	start, n, self int
}

// planPicks picks up to want peers for the requester from a swarm's
// seeds and leechers (both of the requester's address family): all of
// them when they fit, otherwise a random window of each group. A seeder
// gets leechers only, since other seeds are of no use to it; a peer is
// never told about itself (selfSeed and selfIdx say where it is listed,
// selfIdx -1 when it is not). Windows start anywhere and wrap, so the
// choice is O(want) and unbiased in which peers appear across announces.
// It is pure: tests drive it with their own random source.
func planPicks(nSeeds, nLeechers int, selfSeed bool, selfIdx, want int, rng *rand.Rand) (seeds, leechers pick) {
	if selfSeed {
		return pick{self: -1}, planGroup(nLeechers, -1, want, rng)
	}
	seeds = planGroup(nSeeds, -1, want, rng)
	return seeds, planGroup(nLeechers, selfIdx, want-seeds.n, rng)
}

func planGroup(n, self, need int, rng *rand.Rand) pick {
	p := pick{self: self}
	if need <= 0 || n == 0 {
		return p
	}
	others := n
	if self >= 0 && self < n {
		others--
	}
	p.n = min(need, others)
	if n > need+1 {
		p.start = rng.IntN(n)
	}
	return p
}

// runs splits p's members into at most three contiguous index ranges
// [lo, hi) of a group of size n, for copying in bulk: the wrap and the
// skipped requester are the only breaks.
func (p pick) runs(n int, dst *[4][2]int) [][2]int {
	out := dst[:0]
	left := p.n
	i := p.start
	for left > 0 {
		if i == n {
			i = 0
		}
		if i == p.self {
			i++
			continue
		}
		end := n
		if p.self > i && p.self < end {
			end = p.self
		}
		end = min(end, i+left)
		out = append(out, [2]int{i, end})
		left -= end - i
		i = end
	}
	return out
}
