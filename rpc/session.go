package rpc

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shoal-torrent/shoal/daemon"
)

// kilo is Transmission's speed unit: its daemon reports kB/s of 1000.
const kilo = 1000

// rpcVersion is what Transmission 3.00 reports; its clients check it.
const rpcVersion = 16

func (s *Server) sessionGet(json.RawMessage) (any, error) {
	info, err := s.cfg.Engine.Session()
	if err != nil {
		return nil, err
	}
	k := kept(info)
	downKB, upKB, dq, sq := k.DownKBps, k.UpKBps, k.Downloads, k.Seeds
	enc := string(info.Encryption)
	if enc == "" {
		enc = "preferred"
	}
	return map[string]any{
		"version": fmt.Sprintf("3.00 (shoal %s)", s.cfg.Version), "rpc-version": rpcVersion, "rpc-version-minimum": 1,
		"rpc-version-semver": "5.3.0",
		"session-id":         s.sessionID, "config-dir": info.StateDir, "download-dir": info.Dir,
		"peer-port": int(info.Port), "peer-port-random-on-start": false, "port-forwarding-enabled": false,
		"speed-limit-down": downKB, "speed-limit-down-enabled": info.DownLimit > 0,
		"speed-limit-up": upKB, "speed-limit-up-enabled": info.UpLimit > 0,
		"alt-speed-enabled": false, "alt-speed-down": 0, "alt-speed-up": 0, "alt-speed-time-enabled": false,
		"alt-speed-time-begin": 0, "alt-speed-time-end": 0, "alt-speed-time-day": 0,
		"peer-limit-global": 500, "peer-limit-per-torrent": 80,
		"seedRatioLimit": 0.0, "seedRatioLimited": false, "idle-seeding-limit": 0, "idle-seeding-limit-enabled": false,
		"download-queue-size": dq, "download-queue-enabled": info.MaxDownloads > 0,
		"seed-queue-size": sq, "seed-queue-enabled": info.MaxSeeds > 0,
		"queue-stalled-enabled": true, "queue-stalled-minutes": 30,
		"dht-enabled": info.DHT, "pex-enabled": true, "lpd-enabled": info.LSD, "utp-enabled": false,
		"encryption": enc, "cache-size-mb": 0, "start-added-torrents": true, "rename-partial-files": false,
		"incomplete-dir-enabled": false, "incomplete-dir": "", "blocklist-enabled": false, "blocklist-size": 0,
		"blocklist-url": "", "script-torrent-done-enabled": false, "script-torrent-done-filename": "",
		"trash-original-torrent-files": false, "download-dir-free-space": -1,
		"units": map[string]any{
			"speed-units": []string{"kB/s", "MB/s", "GB/s", "TB/s"}, "speed-bytes": kilo,
			"size-units": []string{"kB", "MB", "GB", "TB"}, "size-bytes": kilo,
			"memory-units": []string{"KiB", "MiB", "GiB", "TiB"}, "memory-bytes": 1024,
		},
	}, nil
}

// sessionSettable are the session-set keys shoal applies; others are
// refused by name rather than ignored.
var sessionSettable = map[string]bool{"download-dir": true, "speed-limit-down": true, "speed-limit-down-enabled": true,
	"speed-limit-up": true, "speed-limit-up-enabled": true, "download-queue-size": true, "download-queue-enabled": true,
	"seed-queue-size": true, "seed-queue-enabled": true}

func (s *Server) sessionSet(raw json.RawMessage) (any, error) {
	var keys map[string]json.RawMessage
	if err := decodeArgs(raw, &keys); err != nil {
		return nil, err
	}
	var unknown []string
	for k := range keys {
		if !sessionSettable[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("session-set: shoal cannot change %s", truncate(strings.Join(unknown, ", "), 200))
	}
	var a struct {
		Dir         *string `json:"download-dir"`
		Down        *int64  `json:"speed-limit-down"`
		DownOn      *bool   `json:"speed-limit-down-enabled"`
		Up          *int64  `json:"speed-limit-up"`
		UpOn        *bool   `json:"speed-limit-up-enabled"`
		DownQueue   *int    `json:"download-queue-size"`
		DownQueueOn *bool   `json:"download-queue-enabled"`
		SeedQueue   *int    `json:"seed-queue-size"`
		SeedQueueOn *bool   `json:"seed-queue-enabled"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	for _, v := range []*int64{a.Down, a.Up} {
		if v != nil && (*v < 0 || *v > 1<<40) {
			return nil, fmt.Errorf("speed limit %d kB/s is out of range", *v)
		}
	}
	for _, v := range []*int{a.DownQueue, a.SeedQueue} {
		if v != nil && (*v < 1 || *v > 1<<20) {
			return nil, fmt.Errorf("queue size %d: want 1 or more", *v)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.cfg.Engine.Session()
	if err != nil {
		return nil, err
	}
	var set daemon.SessionSettings
	set.Dir = a.Dir
	k := kept(info)
	inBytes := func(kb int64) int64 { return max(kb, 1) * kilo }
	set.DownLimit = toggled(a.Down, a.DownOn, info.DownLimit > 0, &k.DownKBps, inBytes)
	set.UpLimit = toggled(a.Up, a.UpOn, info.UpLimit > 0, &k.UpKBps, inBytes)
	same := func(n int) int { return n }
	set.MaxDownloads = toggled(a.DownQueue, a.DownQueueOn, info.MaxDownloads > 0, &k.Downloads, same)
	set.MaxSeeds = toggled(a.SeedQueue, a.SeedQueueOn, info.MaxSeeds > 0, &k.Seeds, same)
	set.Kept = &k
	if err := s.cfg.Engine.SetSession(set); err != nil {
		return nil, err
	}
	return nil, nil
}

// kept is each Transmission value beside its switch: the one in force,
// else what the daemon kept of one set while switched off, else
// Transmission's default.
func kept(info daemon.SessionInfo) daemon.Kept {
	k := daemon.Kept{DownKBps: 100, UpKBps: 100, Downloads: 5, Seeds: 10}
	// A kept queue size is at least 1 when session-set stores it; one that
	// is not (a state file edited by hand) keeps the default, or switching
	// the queue on would switch it off. Speeds may be 0, as session-set
	// takes them.
	if kk := info.Kept; kk != nil {
		k.DownKBps, k.UpKBps = max(kk.DownKBps, 0), max(kk.UpKBps, 0)
		if kk.Downloads > 0 {
			k.Downloads = kk.Downloads
		}
		if kk.Seeds > 0 {
			k.Seeds = kk.Seeds
		}
	}
	if info.DownLimit > 0 {
		k.DownKBps = info.DownLimit / kilo
	}
	if info.UpLimit > 0 {
		k.UpKBps = info.UpLimit / kilo
	}
	if info.MaxDownloads > 0 {
		k.Downloads = info.MaxDownloads
	}
	if info.MaxSeeds > 0 {
		k.Seeds = info.MaxSeeds
	}
	return k
}

// toggled folds a Transmission value and its on/off switch into shoal's
// one setting, "in force or 0": a value given while off is remembered
// for when it is switched on; nil means neither was given.
func toggled[T int | int64](v *T, on *bool, enabled bool, remembered *T, inForce func(T) T) *T {
	if v != nil {
		*remembered = *v
	}
	if v == nil && on == nil {
		return nil
	}
	if on != nil {
		enabled = *on
	}
	var out T
	if enabled {
		out = inForce(*remembered)
	}
	return &out
}

func (s *Server) sessionStats() (any, error) {
	st, err := s.cfg.Engine.Stats()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"activeTorrentCount": st.Active, "pausedTorrentCount": st.Paused, "torrentCount": st.Torrents,
		"downloadSpeed": int64(st.DownRate), "uploadSpeed": int64(st.UpRate),
		"current-stats": map[string]any{"uploadedBytes": st.Uploaded, "downloadedBytes": st.Downloaded,
			"filesAdded": 0, "sessionCount": 1, "secondsActive": st.Uptime},
		"cumulative-stats": map[string]any{"uploadedBytes": st.EverUploaded, "downloadedBytes": st.EverDownloaded,
			"filesAdded": 0, "sessionCount": 1, "secondsActive": st.Uptime},
	}, nil
}
