package swarm

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// announced is one announce a test tracker heard.
type announced struct {
	event string
	left  int64
}

// Sizes leave padding out, as shoal info and libtorrent do: a hybrid or
// v2-only torrent whose files end inside pieces is as big as its files,
// before the download and after it; Left counts down from that to 0,
// trackers are told the same left, and progress ends at exactly 1.
func TestSizesLeaveOutPadding(t *testing.T) {
	files := []piecetest.FileSpec{{Path: "pad/a.bin", Size: 50000}, {Path: "pad/b.bin", Size: 70000}, {Path: "pad/c.bin", Size: 3000}}
	const size = 50000 + 70000 + 3000
	for _, v := range []meta.Version{meta.VersionHybrid, meta.VersionV2} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFixtureV(t, v, 32<<10, files...)
			if f.m.Layout.Total == size {
				t.Fatal("the fixture has no padding")
			}
			heard := make(chan announced, 64)
			tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				left, _ := strconv.ParseInt(r.URL.Query().Get("left"), 10, 64)
				select {
				case heard <- announced{r.URL.Query().Get("event"), left}:
				default:
				}
				w.Write([]byte("d8:intervali1800e5:peers0:e"))
			}))
			defer tr.Close()
			// until waits for an announce of event telling left; every
			// announce on the way must tell one between 0 and size.
			until := func(event string, left int64) {
				t.Helper()
				for {
					select {
					case a := <-heard:
						if a.event == event && a.left != left || a.left < 0 || a.left > size {
							t.Fatalf("announced %q with left %d, want %d", a.event, a.left, left)
						}
						if a.event == event {
							return
						}
					case <-time.After(20 * time.Second):
						t.Fatalf("no %s announce", event)
					}
				}
			}
			seedS, seed := startSeeder(t, f)
			if s := waitFor(t, seed, 5*time.Second, "seeding", func(s *Snapshot) bool { return s.State == StateSeeding }); s.Size != size || s.Left != 0 || s.Progress != 1 {
				t.Fatalf("seeder: size %d, left %d, progress %v; want %d, 0, 1", s.Size, s.Left, s.Progress, size)
			}

			m := *f.m
			m.Trackers = [][]string{{tr.URL + "/announce"}}
			cfg := DefaultTorrentConfig(t.TempDir())
			cfg.MaxPeersPerIP = 100
			tor, err := newTestSession(t).Add(&m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			until("started", size)
			s := waitFor(t, tor, 5*time.Second, "checked", func(s *Snapshot) bool { return s.State == StateDownloading })
			if s.Size != size || s.Left != size || s.Progress != 0 {
				t.Fatalf("before: size %d, left %d, progress %v; want %d, %d, 0", s.Size, s.Left, s.Progress, size, size)
			}
			tor.AddPeers([]netip.AddrPort{seedS.Addr()})
			waitComplete(t, tor, 30*time.Second)
			until("completed", 0)
			s = waitFor(t, tor, 5*time.Second, "seeding", func(s *Snapshot) bool { return s.State == StateSeeding })
			if s.Size != size || s.Left != 0 || s.Progress != 1 {
				t.Fatalf("after: size %d, left %d, progress %v; want %d, 0, 1", s.Size, s.Left, s.Progress, size)
			}
		})
	}
}
