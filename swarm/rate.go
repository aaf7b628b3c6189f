package swarm

import "time"

// rateWindow is how many one-second samples a meter keeps: the choker
// ranks peers over ~20 s, as BitTorrent prescribes.
const rateWindow = 20

// meter turns a growing byte counter into rates over the last few seconds.
// The owner samples it once a second; it is not safe for concurrent use.
type meter struct {
	samples [rateWindow]int64
	n       int   // samples taken, up to rateWindow
	next    int   // ring position
	last    int64 // counter at the previous sample
	lastAt  time.Time
}

// sample records the counter's value at now.
func (m *meter) sample(total int64, now time.Time) {
	if !m.lastAt.IsZero() {
		m.samples[m.next] = total - m.last
		m.next = (m.next + 1) % rateWindow
		m.n = min(m.n+1, rateWindow)
	}
	m.last, m.lastAt = total, now
}

// rate is bytes per second over the last secs samples (at most the
// window).
func (m *meter) rate(secs int) float64 {
	secs = min(secs, m.n)
	if secs == 0 {
		return 0
	}
	var sum int64
	for k := 1; k <= secs; k++ {
		sum += m.samples[(m.next-k+rateWindow)%rateWindow]
	}
	return float64(sum) / float64(secs)
}

// still says whether every sample in the window is zero: the rate shown
// is 0 and sampling further would change nothing.
func (m *meter) still() bool {
	for _, s := range m.samples {
		if s != 0 {
			return false
		}
	}
	return true
}
