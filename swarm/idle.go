package swarm

import "time"

// Loop timing. A busy loop ticks once a second (rates, choking, dialling)
// and publishes four times a second. An idle one — a seed with no peers,
// nothing to dial, no streaming reader and no rate left to decay — runs
// neither timer and wakes only on events, so a session of 10,000 idle
// seeds costs no wake-ups per torrent.
const (
	tickInterval    = time.Second
	publishInterval = 250 * time.Millisecond
)

// loopTimers are a loop's tick and publish tickers, running only while the
// loop is busy. With manual set (loop-harness tests drive ticks by hand)
// they never run.
type loopTimers struct {
	manual     bool
	tick, snap *time.Ticker
}

// set starts or stops the tickers and returns their channels; nil
// channels never fire.
func (lt *loopTimers) set(busy bool) (tickC, snapC <-chan time.Time) {
	if lt.manual {
		return nil, nil
	}
	switch {
	case busy && lt.tick == nil:
		lt.tick = time.NewTicker(tickInterval)
		lt.snap = time.NewTicker(publishInterval)
	case !busy && lt.tick != nil:
		lt.stop()
	}
	if lt.tick == nil {
		return nil, nil
	}
	return lt.tick.C, lt.snap.C
}

// running says whether the publish timer runs (manual loops count as
// running: their tests publish by hand).
func (lt *loopTimers) running() bool { return lt.manual || lt.tick != nil }

func (lt *loopTimers) stop() {
	if lt.tick != nil {
		lt.tick.Stop()
		lt.snap.Stop()
		lt.tick, lt.snap = nil, nil
	}
}

// busy says whether the loop has periodic work: peers to serve or dial,
// pieces to fetch, readers waiting, or rates that have not yet decayed to
// zero (the snapshot would show a stale rate otherwise).
func (l *loop) busy() bool {
	if len(l.conns) > 0 || l.dialing > 0 || !l.seeding() || len(l.readers) > 0 || len(l.waiters) > 0 {
		return true
	}
	if !l.downMeter.still() || !l.upMeter.still() {
		return true
	}
	for _, k := range l.known {
		if !k.connected {
			return true // a dial may come due
		}
	}
	return false
}
