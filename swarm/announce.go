package swarm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/torrent/tracker"
)

// Announce timing. A tracker's interval is honoured but never below
// minAnnounceInterval; failures back off from retryMin to retryMax.
const (
	announceTimeout     = 15 * time.Second
	stoppedTimeout      = 5 * time.Second
	minAnnounceInterval = 30 * time.Second
	retryMin            = 15 * time.Second
	retryMax            = 30 * time.Minute
)

// announcer talks to one torrent's trackers following BEP 12: tiers in
// order, trackers within a tier shuffled, a tracker that answers moves to
// the front of its tier. It runs in its own goroutine and reaches the loop
// only through Torrent.AddPeers.
type announcer struct {
	t     *Torrent
	tiers [][]string
	done  chan struct{}
	wake  chan struct{} // the download completed: announce now

	mu     sync.Mutex // guards status and the order within tiers, read by snapshots
	status map[string]*TrackerSnapshot
	// completedSent is owned by the run goroutine.
	completedSent bool
	// portMoved closes when the announce port changes after the last
	// announce; owned by the run goroutine.
	portMoved <-chan struct{}
}

func (l *loop) startAnnouncers() {
	if len(l.t.m.Trackers) == 0 {
		return
	}
	a := &announcer{t: l.t, done: make(chan struct{}), wake: make(chan struct{}, 1), status: map[string]*TrackerSnapshot{}}
	for i, tier := range l.t.m.Trackers {
		tier = append([]string(nil), tier...)
		rand.Shuffle(len(tier), func(x, y int) { tier[x], tier[y] = tier[y], tier[x] })
		a.tiers = append(a.tiers, tier)
		for _, u := range tier {
			a.status[u] = &TrackerSnapshot{URL: u, Tier: i + 1, Status: "waiting"}
		}
	}
	l.trackers = append(l.trackers, a)
	go a.run(l.ctx)
}

func (l *loop) announceCompleted() {
	for _, a := range l.trackers {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// stopAnnouncers waits for each announcer's stopped announce (bounded by
// stoppedTimeout).
func (l *loop) stopAnnouncers() {
	for _, a := range l.trackers {
		<-a.done
	}
}

func (a *announcer) snapshot() []TrackerSnapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []TrackerSnapshot
	for _, tier := range a.tiers {
		for _, u := range tier {
			out = append(out, *a.status[u])
		}
	}
	return out
}

func (a *announcer) setStatus(u string, fn func(s *TrackerSnapshot)) {
	a.mu.Lock()
	fn(a.status[u])
	a.mu.Unlock()
}

// retryAt records when trackers that failed are tried again, so the
// views say "next announce in …" rather than nothing after an error.
func (a *announcer) retryAt(next time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.status {
		if s.Status == "error" {
			s.NextAnnounce = next
		}
	}
}

func (a *announcer) run(ctx context.Context) {
	defer close(a.done)
	event := tracker.Started
	failures := 0
	for {
		a.portMoved = a.t.s.portMoved.wait()
		interval, err := a.announceOnce(ctx, event)
		var wait time.Duration
		if err != nil {
			failures++
			wait = min(retryMin<<min(failures-1, 10), retryMax)
			a.retryAt(time.Now().Add(wait))
		}
		a.t.poke() // an idle loop has no timer to publish the new status
		if err == nil {
			failures = 0
			if event == tracker.Completed {
				a.completedSent = true
			}
			event = tracker.None
			wait = interval
		}
		select {
		case <-a.t.completed:
			if !a.completedSent && event != tracker.Started {
				// Announce completion at once, then keep the schedule.
				event = tracker.Completed
				if a.sleep(ctx, 0) {
					continue
				}
			}
		default:
		}
		if !a.sleep(ctx, wait) {
			a.stopped()
			return
		}
		select {
		case <-a.t.completed:
			if !a.completedSent && event == tracker.None {
				event = tracker.Completed
			}
		default:
		}
	}
}

// sleep waits d, or until the download completes or the announce port
// moves; false when stopping.
func (a *announcer) sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		// A zero wait must not win the race against the stop.
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-a.wake:
	case <-a.portMoved:
	}
	return true
}

// announceOnce tries the tiers in order until one tracker answers, and
// returns the interval it asked for.
func (a *announcer) announceOnce(ctx context.Context, ev tracker.AnnounceEvent) (time.Duration, error) {
	var errs []error
	for ti, tier := range a.tiers {
		for k, u := range tier {
			res, err := a.do(ctx, u, ev)
			if err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				errs = append(errs, err)
				continue
			}
			// BEP 12: the tracker that answered moves to the front. The
			// snapshot reads the tiers, so reorder under the lock.
			a.mu.Lock()
			copy(tier[1:k+1], tier[:k])
			tier[0] = u
			a.tiers[ti] = tier
			a.mu.Unlock()
			var peers []netip.AddrPort
			for _, p := range res.Peers {
				if ap, ok := p.ToNetipAddrPort(); ok {
					peers = append(peers, ap)
				}
			}
			interval := max(time.Duration(res.Interval)*time.Second, minAnnounceInterval)
			now := time.Now()
			a.setStatus(u, func(s *TrackerSnapshot) {
				s.Status, s.LastError, s.LastAnnounce, s.NextAnnounce = "working", "", now, now.Add(interval)
				s.Seeders, s.Leechers, s.PeersGot = int(res.Seeders), int(res.Leechers), len(peers)
			})
			if len(peers) > 0 {
				go a.t.addPeers(peers, "tracker")
			}
			return interval, nil
		}
	}
	return 0, errors.Join(errs...)
}

func (a *announcer) do(ctx context.Context, u string, ev tracker.AnnounceEvent) (tracker.AnnounceResponse, error) {
	actx, cancel := context.WithTimeout(ctx, announceTimeout)
	defer cancel()
	a.setStatus(u, func(s *TrackerSnapshot) { s.Status = "announcing" })
	res, err := a.request(actx, u, ev)
	if err != nil && ctx.Err() != nil {
		// The torrent is stopping: stopped() says goodbye on a context of
		// its own, so this announce cut short is no failure to report.
		a.setStatus(u, func(s *TrackerSnapshot) { s.Status = "stopping" })
		return res, ctx.Err()
	}
	if err != nil {
		err = fmt.Errorf("announce %s: %w", u, err)
		a.setStatus(u, func(s *TrackerSnapshot) { s.Status, s.LastError = "error", err.Error() })
		a.t.log.Debug("announce failed", "err", err)
	}
	return res, err
}

// request announces to one tracker under every hash t's swarms know it
// by: a hybrid joins the v1 swarm and the v2 one (by its truncated hash),
// and the peers of both come back. The v1 answer is the one that counts;
// a failed v2 announce only costs its peers.
func (a *announcer) request(ctx context.Context, u string, ev tracker.AnnounceEvent) (tracker.AnnounceResponse, error) {
	hashes := swarmHashes(a.t.m)
	res, err := a.requestFor(ctx, u, ev, hashes[0])
	for _, ih := range hashes[1:] {
		if err != nil {
			break
		}
		more, err2 := a.requestFor(ctx, u, ev, ih)
		if err2 != nil {
			a.t.log.Debug("v2 announce failed", "tracker", u, "err", err2)
			continue
		}
		res.Peers = append(res.Peers, more.Peers...)
	}
	return res, err
}

func (a *announcer) requestFor(ctx context.Context, u string, ev tracker.AnnounceEvent, infoHash [20]byte) (tracker.AnnounceResponse, error) {
	t := a.t
	return tracker.Announce{
		TrackerUrl: u,
		Context:    ctx,
		UserAgent:  "shoal/" + t.s.cfg.Version,
		// The library always says supportcrypto=1, which is true under
		// every policy (we accept encrypted peers); requirecrypto=1 is ours.
		HttpRequestDirector: t.s.cfg.Encryption.markAnnounce,
		Request: tracker.AnnounceRequest{
			InfoHash: infoHash, PeerId: t.s.peerID, Port: t.s.announcePort(), Event: ev, NumWant: 80,
			Downloaded: t.downloadedTotal.Load(), Uploaded: t.uploadedTotal.Load(), Left: t.left.Load(),
			Key: int32(t.s.peerID[19]) | int32(t.s.peerID[18])<<8,
		},
	}.Do()
}

// stopped tells the trackers we leave, within a short deadline, on a
// context of its own since the torrent's is already cancelled.
func (a *announcer) stopped() {
	ctx, cancel := context.WithTimeout(context.Background(), stoppedTimeout)
	defer cancel()
	// A download that finished just before the stop still counts as one
	// at the tracker: completed first, then stopped, as other clients do.
	finished := false
	select {
	case <-a.t.completed:
		finished = !a.completedSent
	default:
	}
	for _, tier := range a.tiers {
		for _, u := range tier {
			// Every tracker that ever listed us hears that we leave, even
			// if the last announce (cut short by this stop) failed.
			a.mu.Lock()
			listed := !a.status[u].LastAnnounce.IsZero()
			a.mu.Unlock()
			if listed {
				if finished {
					a.request(ctx, u, tracker.Completed)
				}
				a.request(ctx, u, tracker.Stopped)
			}
		}
	}
}
