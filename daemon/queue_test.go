package daemon

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func running(m map[int]bool) []int { return slices.Sorted(maps.Keys(m)) }

func TestPlanQueuesDownloadsAndSeedsByPosition(t *testing.T) {
	now := time.Unix(1e9, 0)
	items := []QueueItem{
		{ID: 1, Pos: 3}, {ID: 2, Pos: 1}, {ID: 3, Pos: 2}, {ID: 4, Pos: 0, Paused: true},
		{ID: 5, Pos: 4, Complete: true}, {ID: 6, Pos: 5, Complete: true}, {ID: 7, Pos: 6, Failed: true},
	}
	got := running(Plan(items, QueueLimits{Downloads: 2, Seeds: 1}, now))
	if want := []int{2, 3, 5}; !slices.Equal(got, want) {
		t.Fatalf("run %v, want %v", got, want)
	}
	if got := running(Plan(items, QueueLimits{}, now)); !slices.Equal(got, []int{1, 2, 3, 5, 6}) {
		t.Fatalf("unlimited: run %v", got)
	}
}

func TestPlanStalledDownloadFreesItsSlot(t *testing.T) {
	now := time.Unix(1e9, 0)
	items := []QueueItem{
		{ID: 1, Pos: 0, Running: true, ActiveAt: now.Add(-31 * time.Minute)},
		{ID: 2, Pos: 1},
	}
	lim := QueueLimits{Downloads: 1, StalledAfter: 30 * time.Minute}
	if got := running(Plan(items, lim, now)); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("stalled: run %v, want both", got)
	}
	items[0].ActiveAt = now.Add(-time.Minute)
	if got := running(Plan(items, lim, now)); !slices.Equal(got, []int{1}) {
		t.Fatalf("active: run %v, want [1]", got)
	}
}
