package tracker

import "time"

// swarmInfo is what eviction weighs about one swarm.
type swarmInfo struct {
	peers, downloaded int
	last              time.Time // latest announce
}

// evictionVictim picks which of the candidates to drop so a new swarm
// fits: the smallest (fewest live peers, then fewest completed
// downloads) and, among equals, the one idle longest at now. A flood of
// random infohashes makes one-peer swarms, so it evicts its own before
// any swarm two or more peers share, and a swarm whose peers keep
// announcing outlives one they left. It is pure, for tests with a fake
// clock; cands must not be empty.
func evictionVictim(cands []swarmInfo, now time.Time) int {
	victim := 0
	for i := 1; i < len(cands); i++ {
		if lessWorthKeeping(cands[i], cands[victim], now) {
			victim = i
		}
	}
	return victim
}

func lessWorthKeeping(a, b swarmInfo, now time.Time) bool {
	if a.peers != b.peers {
		return a.peers < b.peers
	}
	if a.downloaded != b.downloaded {
		return a.downloaded < b.downloaded
	}
	return now.Sub(a.last) > now.Sub(b.last)
}
