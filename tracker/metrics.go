package tracker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) initMetrics() {
	s.reg = prometheus.NewRegistry()
	s.announces = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_tracker_announces_total", Help: "Announces served, by protocol."}, []string{"proto"})
	s.scrapes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_tracker_scrapes_total", Help: "Scrapes served, by protocol."}, []string{"proto"})
	s.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_tracker_failures_total", Help: "Requests refused or dropped, by protocol and reason."}, []string{"proto", "reason"})
	s.announceCount = map[string]prometheus.Counter{"http": s.announces.WithLabelValues("http"), "udp": s.announces.WithLabelValues("udp")}
	s.scrapeCount = map[string]prometheus.Counter{"http": s.scrapes.WithLabelValues("http"), "udp": s.scrapes.WithLabelValues("udp")}
	totals := func(pick func(Totals) int) func() float64 {
		return func() float64 {
			t, err := s.store.Totals(context.Background(), time.Now())
			if err != nil {
				return 0
			}
			return float64(pick(t))
		}
	}
	s.reg.MustRegister(s.announces, s.scrapes, s.failures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_tracker_torrents", Help: "Swarms held."}, totals(func(t Totals) int { return t.Torrents })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_tracker_seeders", Help: "Seeders held."}, totals(func(t Totals) int { return t.Seeders })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shoal_tracker_leechers", Help: "Leechers held."}, totals(func(t Totals) int { return t.Leechers })),
		collectors.NewGoCollector(),
	)
	if ec, ok := s.store.(EvictionCounter); ok {
		evictions := func(pick func(Evictions) int64) func() float64 {
			return func() float64 { return float64(pick(ec.Evictions())) }
		}
		opts := func(what string) prometheus.CounterOpts {
			return prometheus.CounterOpts{Name: "shoal_tracker_evictions_total", ConstLabels: prometheus.Labels{"what": what},
				Help: "Swarms and peers the store dropped to make room for newcomers, by what was dropped."}
		}
		s.reg.MustRegister(
			prometheus.NewCounterFunc(opts("swarm"), evictions(func(e Evictions) int64 { return e.Swarms })),
			prometheus.NewCounterFunc(opts("peer"), evictions(func(e Evictions) int64 { return e.Peers })))
	}
	for _, l := range []struct {
		lim  *ipLimiter
		name string
	}{{s.limiter, "ip"}, {s.torrentLimiter, "ip_torrent"}} {
		if l.lim != nil {
			s.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shoal_tracker_rate_limit_evictions_total",
				Help:        "Rate-limit entries forgotten to make room before their bucket had refilled: the limit is under pressure.",
				ConstLabels: prometheus.Labels{"limit": l.name}}, func() float64 { return float64(l.lim.evicted.Load()) }))
		}
	}
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// Stats is the /stats document.
type Stats struct {
	Torrents           int     `json:"torrents"`
	Seeders            int     `json:"seeders"`
	Leechers           int     `json:"leechers"`
	AnnouncesPerSecond float64 `json:"announces_per_second"`
	ScrapesPerSecond   float64 `json:"scrapes_per_second"`
	UptimeSeconds      int64   `json:"uptime_seconds"`
	// Swarms lists the largest swarms, when the store can list them.
	Swarms []SwarmJSON `json:"swarms,omitempty"`
}

// SwarmJSON is one swarm in /stats.
type SwarmJSON struct {
	InfoHash   string `json:"info_hash"`
	Seeders    int    `json:"seeders"`
	Leechers   int    `json:"leechers"`
	Downloaded int    `json:"downloaded"`
}

// statsSwarms is how many swarms /stats lists.
const statsSwarms = 50

// Stats reports the tracker's state now.
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	now := time.Now()
	t, err := s.store.Totals(ctx, now)
	if err != nil {
		return Stats{}, err
	}
	a, sc := s.rates.perSecond(now)
	st := Stats{Torrents: t.Torrents, Seeders: t.Seeders, Leechers: t.Leechers, AnnouncesPerSecond: a,
		ScrapesPerSecond: sc, UptimeSeconds: int64(now.Sub(s.started).Seconds())}
	if l, ok := s.store.(SwarmLister); ok {
		for _, sw := range l.TopSwarms(statsSwarms, now) {
			st.Swarms = append(st.Swarms, SwarmJSON{InfoHash: hex.EncodeToString(sw.InfoHash[:]), Seeders: sw.Seeders,
				Leechers: sw.Leechers, Downloaded: sw.Downloaded})
		}
	}
	return st, nil
}

func (s *Server) httpStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.Stats(r.Context())
	if err != nil {
		http.Error(w, "stats unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

// rateWindow counts requests per second over the last ten seconds. Every
// announce adds to it, so it takes no lock: each second's bucket is
// atomics, claimed for a new second by compare-and-swap. Counts that
// land in the instant a bucket is being reset can be lost; /stats is an
// average over ten seconds, and a mutex here was the one lock every
// announce shared.
type rateWindow struct {
	buckets [10]rateBucket
}

type rateBucket struct {
	sec                atomic.Int64
	announces, scrapes atomic.Int64
}

func (r *rateWindow) bucket(now time.Time) *rateBucket {
	s := now.Unix()
	b := &r.buckets[int(s%10)]
	if old := b.sec.Load(); old != s && b.sec.CompareAndSwap(old, s) {
		b.announces.Store(0)
		b.scrapes.Store(0)
	}
	return b
}

func (r *rateWindow) announce(now time.Time) { r.bucket(now).announces.Add(1) }

func (r *rateWindow) scrape(now time.Time) { r.bucket(now).scrapes.Add(1) }

// perSecond averages the last ten whole seconds.
func (r *rateWindow) perSecond(now time.Time) (announces, scrapes float64) {
	cur := now.Unix()
	for i := range r.buckets {
		b := &r.buckets[i]
		if s := b.sec.Load(); s < cur && s >= cur-10 {
			announces += float64(b.announces.Load())
			scrapes += float64(b.scrapes.Load())
		}
	}
	return announces / 10, scrapes / 10
}
