//go:build linux

package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The open loop offers a fixed rate whatever the tracker answers, as a
// tracker's real clients do: a slow answer does not slow the next
// request, so queueing shows in the latency instead of hiding in a lower
// offered rate (the closed loop's coordinated omission). Latency runs
// from when a request was due, not when it left, so a late generator
// counts against the figure too; its own lag is printed beside it.

// openResult is one offered rate.
type openResult struct {
	offered   float64 // requests per second scheduled
	answered  float64 // successful answers per second
	lost      float64 // share of requests sent but never answered
	cpu       time.Duration
	lat, lag  hist
	sent, oks int64
}

// perCPU is answers per second of server CPU.
func (o openResult) perCPU() float64 {
	if o.cpu <= 0 {
		return 0
	}
	return float64(o.oks) / o.cpu.Seconds()
}

// openClients is how many source ports the open loop spreads its load over.
const openClients = 16

// udpOpen offers rate announces per second for d, then waits a moment
// for late answers.
func udpOpen(c config, cls []*udpClient, rate float64, d time.Duration) openResult {
	for _, cl := range cls {
		cl.lat, cl.lag = hist{}, hist{}
		cl.ok, cl.errs, cl.sent, cl.answers = 0, 0, 0, 0
		cl.base = cl.seq
	}
	start := time.Now()
	now := monoNow(start)
	end := int64(d)
	var stop atomic.Bool
	var senders, receivers sync.WaitGroup
	interval := float64(len(cls)) / rate * float64(time.Second) // per client
	for i, cl := range cls {
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			for !stop.Load() {
				if _, err := cl.recv(now); err != nil {
					return
				}
			}
		}()
		senders.Add(1)
		go func() {
			defer senders.Done()
			// Clients start spread across one interval, not in step.
			offset := interval * float64(i) / float64(len(cls))
			var n int64
			var k int64 // requests scheduled so far
			for {
				t := now()
				if t >= end {
					return
				}
				due := int64((float64(t)-offset)/interval) + 1 // scheduled by t
				if due <= k {
					time.Sleep(time.Duration(float64(k)*interval + offset - float64(t)))
					continue
				}
				m := int(min(due-k, genBatch))
				for j := range m {
					sched := int64(float64(k+int64(j))*interval + offset)
					tt, p := pick(c, cl.w, n)
					n++
					cl.fill(c, j, tt, p, sched)
					cl.lag.add(time.Duration(t - sched))
				}
				if cl.send(m) != nil {
					return
				}
				k += int64(m)
			}
		}()
	}
	senders.Wait()
	// Late answers still count, up to a quarter second after the end.
	for deadline := time.Now().Add(250 * time.Millisecond); time.Now().Before(deadline); {
		var sent, answers int64
		for _, cl := range cls {
			sent += atomic.LoadInt64(&cl.sent)
			answers += atomic.LoadInt64(&cl.answers)
		}
		if answers >= sent {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	receivers.Wait()
	o := openResult{offered: rate}
	for _, cl := range cls {
		o.sent += cl.sent
		o.oks += cl.ok
		o.lat.merge(&cl.lat)
		o.lag.merge(&cl.lag)
	}
	o.answered = float64(o.oks) / d.Seconds()
	if o.sent > 0 {
		o.lost = 1 - float64(o.oks)/float64(o.sent)
	}
	return o
}

// openLoop finds each tracker's UDP ceiling and its latency below it.
// The ceiling is the highest answered rate over offered rates stepping
// up by a quarter from 10,000/s, until a rate fails twice running (over
// 1% lost or under 90% answered); then 50%, 80% and 100% of it are
// offered in turn.
func openLoop(c config, impls []impl) error {
	var lines []line
	for _, im := range impls {
		s, err := startServer(c, im.name, im.bin, freePort())
		if err != nil {
			return err
		}
		ls, err := openSweep(c, im.name, s.port, s.cpu)
		s.stop()
		for _, l := range ls {
			lines = append(lines, line{im.name, l.share, l.o})
		}
		if err != nil {
			return err
		}
	}
	fmt.Printf("\nopen loop, UDP, %d client ports, %v per rate\n", openClients, c.step)
	fmt.Printf("%-11s %-5s %10s %10s %7s %9s %9s %9s %11s %10s\n", "tracker", "load", "offered/s", "answered/s", "lost", "p50", "p99", "p99.9", "gen lag p99", "per CPU-s")
	for _, l := range lines {
		fmt.Printf("%-11s %-5s %10.0f %10.0f %6.2f%% %9s %9s %9s %11s %10.0f\n", l.name, l.share, l.o.offered, l.o.answered, 100*l.o.lost,
			l.o.lat.pct(0.5).Round(time.Microsecond), l.o.lat.pct(0.99).Round(time.Microsecond), l.o.lat.pct(0.999).Round(time.Microsecond),
			l.o.lag.pct(0.99).Round(time.Microsecond), l.o.perCPU())
	}
	return nil
}

type line struct {
	name  string
	share string
	o     openResult
}

// openSweep finds the ceiling of the tracker on port and measures it at
// 50, 80 and 100% of it; cpu reads the tracker's CPU time (nil: unknown).
func openSweep(c config, name string, port int, cpu func() time.Duration) ([]line, error) {
	if cpu == nil {
		cpu = func() time.Duration { return 0 }
	}
	if err := warmUp(c, port); err != nil {
		return nil, err
	}
	cls, err := newUDPClients(openClients, port)
	if err != nil {
		return nil, err
	}
	defer closeClients(cls)
	run := func(rate float64) openResult {
		cpu0 := cpu()
		o := udpOpen(c, cls, rate, c.step)
		o.cpu = cpu() - cpu0
		fmt.Printf("  %-11s offered %8.0f/s  answered %8.0f/s  lost %5.2f%%  p99 %9s  per CPU-s %8.0f\n", name, o.offered, o.answered, 100*o.lost,
			o.lat.pct(0.99).Round(time.Microsecond), o.perCPU())
		return o
	}
	// A step fails when over 1% is lost or less than 90% answered; on
	// this shared machine one bad second can fail a step the tracker
	// could carry, so a failed step is tried once more before it ends
	// the search.
	rate := 10_000.0
	best := openResult{}
	for retried := false; rate < 2_000_000; {
		o := run(rate)
		if o.answered > best.answered {
			best = o
		}
		if o.lost > 0.01 || o.answered < 0.9*o.offered {
			if retried {
				break
			}
			retried = true
			continue
		}
		retried = false
		rate *= 1.25
	}
	var ls []line
	for _, share := range []float64{0.5, 0.8, 1.0} {
		ls = append(ls, line{name, fmt.Sprintf("%.0f%%", share*100), run(share * best.answered)})
	}
	return ls, nil
}
