package tracker

import (
	"sync"
	"testing"
	"time"
)

// TestRateWindowCountsEveryAnnounceWithoutALock: announces from several
// goroutines in one second are all counted, the average covers the ten
// whole seconds before now, and a bucket reused for a later second
// starts from zero.
func TestRateWindowCountsEveryAnnounceWithoutALock(t *testing.T) {
	var r rateWindow
	t0 := time.Unix(1_000_000, 0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				r.announce(t0.Add(time.Duration(i) * time.Millisecond))
			}
		}()
	}
	wg.Wait()
	r.scrape(t0.Add(time.Second))
	if a, s := r.perSecond(t0.Add(2 * time.Second)); a != 100 || s != 0.1 {
		t.Fatalf("per second %v announces, %v scrapes; want 100 and 0.1", a, s)
	}
	if a, _ := r.perSecond(t0); a != 0 {
		t.Fatalf("the current second counted: %v", a)
	}
	// Ten seconds on, the same bucket serves a new second.
	r.announce(t0.Add(10 * time.Second))
	if a, _ := r.perSecond(t0.Add(11 * time.Second)); a != 0.1 {
		t.Fatalf("a reused bucket kept its old count: %v per second", a)
	}
}
