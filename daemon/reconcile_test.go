package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/swarm"
)

// looks reads the loop's count of snapshot looks.
func looks(t *testing.T, d *Daemon) int {
	t.Helper()
	var n int
	if err := d.query(func() error { n = d.looks; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An idle seed costs the loop nothing between sweeps: neither ticks nor
// read-only queries look at it. The loop used to look at every torrent
// every tick and after every call, lists included.
func TestDaemonIdleSeedsAreNotLookedAtEveryTick(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	const n = 3
	d := startDaemon(t, state, data, func(c *Config) { c.Tick = time.Millisecond })
	for i := range n {
		raw := fixtureSized(t, filepath.Join(data, string(rune('a'+i))), int64(100+i)<<10)
		if _, _, err := d.Add(AddRequest{Metainfo: raw, Dir: filepath.Join(data, string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	for id := 1; id <= n; id++ {
		waitState(t, d, id, string(swarm.StateSeeding))
	}
	<-d.Ready()
	// Once the loop has seen them seed, they are no longer watched.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var watched int
		d.query(func() error { watched = len(d.watched); return nil })
		if watched == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d seeds still watched", watched)
		}
		time.Sleep(time.Millisecond) // polling, not synchronisation
	}
	// 300 ticks of polling the list: at most ten sweeps and an extra
	// each side; looking every tick would be 300 looks per torrent.
	before, start := looks(t, d), time.Now()
	for time.Since(start) < 300*time.Millisecond {
		if _, err := d.Torrents(nil, false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // polling, as a UI does
	}
	if got := looks(t, d) - before; got > 12*n {
		t.Fatalf("%d looks at %d idle seeds in 300 ticks, want at most %d", got, n, 12*n)
	}
	// A command still makes the loop look at every torrent.
	before = looks(t, d)
	if err := d.Set([]int{1}, Settings{}); err != nil {
		t.Fatal(err)
	}
	if got := looks(t, d) - before; got < n {
		t.Fatalf("a command led to %d looks at %d torrents", got, n)
	}
}
