package swarm

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordHandler keeps every log message, so a test can say what must
// never be logged.
type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.mu.Lock()
	h.msgs = append(h.msgs, b.String())
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// A download stopped the moment it completes (get --no-seed) tells the
// tracker completed and stopped once each, and logs no failed announce:
// the stop cut the completed announce short, which is no failure.
func TestStopAtCompletionAnnouncesCleanly(t *testing.T) {
	var mu sync.Mutex
	var events []string
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := r.URL.Query().Get("event")
		mu.Lock()
		events = append(events, ev)
		if ev == "completed" && countOf(events, "completed") == 1 {
			// Hold the first completed announce until the client gives
			// up on it, as a slow tracker would.
			mu.Unlock()
			<-r.Context().Done()
			return
		}
		mu.Unlock()
		w.Write([]byte("d8:intervali1800e5:peers0:e"))
	}))
	defer tr.Close()
	rec := &recordHandler{}
	h := newHarness(t, harnessOpts{
		session:  func(c *SessionConfig) { c.Logger = slog.New(rec) },
		trackers: [][]string{{tr.URL + "/announce"}},
	})
	p := h.connect(peerOpts{})
	p.serve(h.content())
	p.send(wireHaveAllUnchoke())
	waitComplete(t, h.tor, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := slices.Index(events, "completed")
		mu.Unlock()
		if n >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no completed announce after the download completed")
		}
		time.Sleep(time.Millisecond)
	}
	h.tor.Stop()
	select {
	case <-h.tor.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("torrent did not stop")
	}
	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	if n := countOf(got, "stopped"); n != 1 {
		t.Errorf("tracker heard %v: want one stopped", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, m := range rec.msgs {
		if strings.Contains(m, "announce failed") || strings.Contains(m, "context canceled") {
			t.Errorf("logged %q when the stop cut an announce short", m)
		}
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// A tracker that fails shows when it is tried again, so the views can say
// "next announce in …" instead of nothing.
func TestFailedAnnounceSaysWhenItRetries(t *testing.T) {
	tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("d14:failure reason9:not todaye"))
	}))
	defer tr.Close()
	h := newHarness(t, harnessOpts{trackers: [][]string{{tr.URL + "/announce"}}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ts TrackerSnapshot
		h.tick(time.Millisecond) // the harness's loop publishes on its tick
		if snap := h.tor.Snapshot(); len(snap.Trackers) == 1 {
			ts = snap.Trackers[0]
		}
		if ts.Status == "error" && !ts.NextAnnounce.IsZero() {
			if !ts.NextAnnounce.After(time.Now().Add(-time.Second)) {
				t.Fatalf("retry at %v, in the past", ts.NextAnnounce)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a failed announce the tracker shows %+v: no retry time", ts)
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
}
