//go:build linux

package main

import (
	"testing"
	"time"
)

func TestHistPercentilesWithinThreePercent(t *testing.T) {
	var h hist
	for i := 1; i <= 100000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, p := range []float64{0.5, 0.8, 0.99, 0.999} {
		want := time.Duration(p*100000) * time.Microsecond
		got := h.pct(p)
		if got < want*97/100 || got > want*103/100 {
			t.Errorf("p%v = %v, want about %v", p*100, got, want)
		}
	}
	var empty hist
	if empty.pct(0.99) != 0 {
		t.Error("an empty histogram has a percentile")
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		if i := histIndex(v); i >= len(h.counts) || histValue(i) > v+v/16+1 || histValue(i)+histValue(i)/16+1 < v {
			t.Fatalf("value %d in bucket %d of middle %d", v, i, histValue(i))
		}
	}
}
