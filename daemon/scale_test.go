package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
)

// BenchmarkDaemonScale is issue 11's scale figure, run by make bench: a
// daemon with 10 and with 10,000 small seeding torrents, restarted with
// valid resume state. It reports the start-up time until every torrent
// seeds, the idle CPU share of one core over 5 s once the daemon says
// start-up is over, and memory per torrent. Aim: under 10 s, under 2 %, under 20 KiB.
// SHOAL_SCALE_CPUPROFILE names a file for a CPU profile of the idle period.
func BenchmarkDaemonScale(b *testing.B) {
	for _, n := range scaleSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				scale(b, n)
			}
		})
	}
}

func scale(b *testing.B, n int) {
	stateDir, data := b.TempDir(), b.TempDir()
	content := bytes.Repeat([]byte("shoal scale "), 16<<10/12)
	st := state{Version: stateVersion, NextID: n + 1}
	now := time.Now()
	for i := range n {
		name := fmt.Sprintf("t%05d.bin", i)
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
		m, err := meta.Create(context.Background(), meta.CreateOptions{Path: p, PieceLength: 16 << 10, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		var raw bytes.Buffer
		m.Write(&raw)
		hash := m.InfoHash.HexString()
		if err := os.WriteFile(filepath.Join(stateDir, hash+".torrent"), raw.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		st.Torrents = append(st.Torrents, Entry{ID: i + 1, InfoHash: hash, Name: name, Dir: data, QueuePos: i, Added: now, Done: now})
	}
	if err := saveState(stateDir, st); err != nil {
		b.Fatal(err)
	}
	open := func() (*Daemon, *swarm.Session) {
		scfg := swarm.DefaultSessionConfig()
		scfg.ListenAddr = "127.0.0.1:0"
		scfg.MaxConns = 10
		s, err := swarm.NewSession(scfg)
		if err != nil {
			b.Fatal(err)
		}
		cfg := DefaultConfig(stateDir, data)
		cfg.Torrent.DisableTrackers = true
		d, err := New(cfg, s)
		if err != nil {
			b.Fatal(err)
		}
		return d, s
	}
	limit := 5 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("SHOAL_SCALE_LIMIT")); err == nil {
		limit = v
	}
	allSeeding := func(d *Daemon) {
		deadline := time.Now().Add(limit)
		for {
			list, _ := d.Torrents(nil, false)
			seeding := 0
			states := map[string]int{}
			example := map[string]string{}
			for _, t := range list {
				states[t.State]++
				if t.Error != "" {
					example[t.State] = t.Error
				}
				if t.State == string(swarm.StateSeeding) {
					seeding++
				}
			}
			if seeding == n {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d seeding after %v: %v %v", seeding, n, limit, states, example)
			}
			time.Sleep(50 * time.Millisecond) // polling for a measurement
		}
	}
	// The first run hashes everything and saves resume state.
	d, s := open()
	allSeeding(d)
	d.Close()
	s.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	d, s = open()
	allSeeding(d)
	startup := time.Since(start)
	b.StopTimer()
	<-d.Ready() // the idle period starts after start-up, as the daemon sees it
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	if p := os.Getenv("SHOAL_SCALE_CPUPROFILE"); p != "" {
		// Where the idle period's CPU goes, and nothing else.
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	time.Sleep(5 * time.Second) // the idle period measured
	pprof.StopCPUProfile()
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := float64(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) * 100 / float64(time.Since(t0))
	d.Close()
	s.Close()
	mem := (int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / int64(n)
	b.ReportMetric(startup.Seconds(), "startup-s")
	b.ReportMetric(cpu, "idle-cpu-%")
	b.ReportMetric(float64(mem)/1024, "KiB/torrent")
}

// scaleSizes are 10 and 10,000 torrents, or SHOAL_SCALE_N alone.
func scaleSizes() []int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("SHOAL_SCALE_N"), &n); err == nil && n > 0 {
		return []int{n}
	}
	return []int{10, 10000}
}
