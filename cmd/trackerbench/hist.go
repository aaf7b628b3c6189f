//go:build linux

package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: 32 buckets per power of two
// of nanoseconds, so any percentile is within about 3%, in fixed memory
// whatever the count. One per client, merged at the end: nothing shared
// on the hot path.
type hist struct {
	counts [histSub * 64]uint64
	n      uint64
}

const histSub = 32 // buckets per power of two; a power of two itself

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - bits.Len64(histSub) // v>>shift is in [histSub, 2*histSub)
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histValue is the middle of bucket i.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	lo := uint64(i%histSub+histSub) << shift
	return lo + (uint64(1)<<shift)/2
}

func (h *hist) add(d time.Duration) {
	h.counts[histIndex(uint64(max(d, 0)))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// pct is the p-quantile (0..1); 0 with no samples.
func (h *hist) pct(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var cum uint64
	for i, c := range h.counts {
		if cum += c; cum > rank {
			return time.Duration(histValue(i))
		}
	}
	return 0
}
