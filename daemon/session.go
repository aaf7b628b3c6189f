package daemon

import (
	"errors"

	"github.com/shoal-torrent/shoal/swarm"
)

// SessionSettings are the daemon-wide knobs a remote caller may turn;
// nil fields stay as they are. Those set are kept in the state directory
// and apply again at the next start (see Config.Given).
type SessionSettings struct {
	Dir          *string `json:"dir,omitempty"`
	DownLimit    *int64  `json:"down_limit,omitempty"` // bytes per second, 0 unlimited
	UpLimit      *int64  `json:"up_limit,omitempty"`
	MaxDownloads *int    `json:"max_downloads,omitempty"`
	MaxSeeds     *int    `json:"max_seeds,omitempty"`
	Kept         *Kept   `json:"kept,omitempty"`
}

// Kept holds values a remote caller set while their switch was off
// (Transmission's speed-limit-down with speed-limit-down-enabled false,
// and its queue sizes). shoal's settings are "in force or 0", so these
// are not in force; they are kept, across restarts as transmission-
// daemon's settings.json keeps them, for when the switch goes on. In the
// caller's units (kB/s of 1000).
type Kept struct {
	DownKBps  int64 `json:"down_kBps"`
	UpKBps    int64 `json:"up_kBps"`
	Downloads int   `json:"downloads"`
	Seeds     int   `json:"seeds"`
}

// merge sets in s the fields set in o.
func (s *SessionSettings) merge(o SessionSettings) {
	if o.Dir != nil {
		s.Dir = o.Dir
	}
	if o.DownLimit != nil {
		s.DownLimit = o.DownLimit
	}
	if o.UpLimit != nil {
		s.UpLimit = o.UpLimit
	}
	if o.MaxDownloads != nil {
		s.MaxDownloads = o.MaxDownloads
	}
	if o.MaxSeeds != nil {
		s.MaxSeeds = o.MaxSeeds
	}
	if o.Kept != nil {
		k := *o.Kept
		s.Kept = &k
	}
}

// SessionInfo is the daemon's configuration as callers see it.
type SessionInfo struct {
	Dir                    string
	Port                   uint16
	DownLimit, UpLimit     int64
	MaxDownloads, MaxSeeds int
	DHT, LSD               bool
	Encryption             swarm.Encryption
	StateDir               string
	Kept                   *Kept // nil until a caller set some
}

// Session reports the daemon's settings.
func (d *Daemon) Session() (SessionInfo, error) {
	var info SessionInfo
	err := d.query(func() error {
		down, up := d.s.RateLimits()
		info = SessionInfo{Dir: d.dir, Port: d.s.Port(), DownLimit: down, UpLimit: up,
			MaxDownloads: d.queue.Downloads, MaxSeeds: d.queue.Seeds, DHT: d.s.DHT() != nil, StateDir: d.cfg.StateDir,
			Encryption: d.cfg.Encryption, LSD: d.cfg.LSD}
		if k := d.session.Kept; k != nil {
			kept := *k
			info.Kept = &kept
		}
		return nil
	})
	return info, err
}

// SetSession changes daemon-wide settings, all checked before any applies.
func (d *Daemon) SetSession(s SessionSettings) error {
	for _, v := range []*int64{s.DownLimit, s.UpLimit} {
		if v != nil && *v < 0 {
			return errors.New("speed limits cannot be negative")
		}
	}
	for _, v := range []*int{s.MaxDownloads, s.MaxSeeds} {
		if v != nil && *v < 0 {
			return errors.New("queue sizes cannot be negative")
		}
	}
	return d.call(func() error {
		if err := d.applySession(s); err != nil {
			return err
		}
		d.session.merge(s)
		d.dirty = true
		return nil
	})
}

// applySession puts session settings in force, on the loop; a save path
// outside the roots changes nothing.
func (d *Daemon) applySession(s SessionSettings) error {
	if s.Dir != nil {
		dir, err := d.allowedDir(*s.Dir)
		if err != nil {
			return err
		}
		d.dir = dir
	}
	if s.DownLimit != nil || s.UpLimit != nil {
		down, up := d.s.RateLimits()
		if s.DownLimit != nil {
			down = *s.DownLimit
		}
		if s.UpLimit != nil {
			up = *s.UpLimit
		}
		d.s.SetRateLimits(down, up)
	}
	if s.MaxDownloads != nil {
		d.queue.Downloads = *s.MaxDownloads
	}
	if s.MaxSeeds != nil {
		d.queue.Seeds = *s.MaxSeeds
	}
	return nil
}

// Stats are the session's totals.
type Stats struct {
	Torrents, Active, Paused int
	DownRate, UpRate         float64
	Downloaded, Uploaded     int64 // this session
	// Cumulative totals over every run the list remembers.
	EverDownloaded, EverUploaded int64
	Uptime                       int64 // seconds
}

// Stats sums the torrents' rates and counters.
func (d *Daemon) Stats() (Stats, error) {
	var st Stats
	err := d.query(func() error {
		st.Downloaded, st.Uploaded = d.sessDown, d.sessUp
		for _, e := range d.entries {
			if e.removing {
				continue
			}
			st.Torrents++
			st.EverDownloaded += e.Downloaded
			st.EverUploaded += e.Uploaded
			if e.Paused {
				st.Paused++
			}
			if t := e.t; t != nil {
				st.Active++
				s := t.Snapshot()
				st.DownRate += s.DownRate
				st.UpRate += s.UpRate
				st.Downloaded += s.Downloaded
				st.Uploaded += s.Uploaded
				st.EverDownloaded += s.Downloaded
				st.EverUploaded += s.Uploaded
			}
		}
		st.Uptime = int64(d.now().Sub(d.started).Seconds())
		return nil
	})
	return st, err
}
