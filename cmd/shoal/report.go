package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/swarm"
	"github.com/shoal-torrent/shoal/tui"
)

// Piped progress: a torrent's line is printed when what it says changed
// (its state, whole percent, peers, an error), at most every
// changedEvery, and otherwise once every quietEvery, so a log of a quiet
// seed holds a line a minute, not the same line every 5 s.
const (
	changedEvery = 5 * time.Second
	quietEvery   = time.Minute
)

// reporter prints what the swarm is doing: on a terminal one redrawn line
// per torrent, piped a line per torrent when it changed, or JSON events.
type reporter struct {
	e    env
	json bool
	enc  *json.Encoder
	// lastNet is the reachability last told of.
	lastNet swarm.NetworkSnapshot
	// hashes are the torrents started, in order: events of the whole
	// session name them too (info_hash for one, info_hashes for more).
	hashes []string
	// printed is each torrent's last piped line, by infohash.
	printed map[string]printedLine
	// drawn is how many progress lines are on the terminal now.
	drawn int
	// trackerWords holds each tracker's trouble last told, by infohash
	// and URL ("" while it answers).
	trackerWords map[string]string
	// webDropped holds the web seeds already told of as dropped, by
	// infohash and URL.
	webDropped map[string]bool
	// banned is each torrent's count of banned peers last told.
	banned map[string]int
	// bell rings the terminal's bell when a download completes.
	bell bool
}

// printedLine is what a piped progress line said and when.
type printedLine struct {
	key string
	at  time.Time
}

func newReporter(e env, asJSON bool) *reporter {
	return &reporter{e: e, json: asJSON, enc: json.NewEncoder(termsafe.JSONWriter(e.stdout)),
		printed: map[string]printedLine{}, trackerWords: map[string]string{}, webDropped: map[string]bool{}, banned: map[string]int{}}
}

// event prints a one-off happening (listening, complete, stopped). With
// JSON, an event without an info_hash of its own names the session's
// torrents; "started" adds its torrent to them.
func (r *reporter) event(kind string, fields map[string]any, text string) {
	if ih, ok := fields["info_hash"].(string); ok && kind == "started" {
		r.hashes = append(r.hashes, ih)
	}
	if r.json {
		m := map[string]any{"event": kind, "time": time.Now().UTC().Format(time.RFC3339)}
		switch {
		case len(r.hashes) == 1:
			m["info_hash"] = r.hashes[0]
		case len(r.hashes) > 1:
			m["info_hashes"] = r.hashes
		}
		for k, v := range fields {
			m[k] = v
		}
		r.enc.Encode(m)
		return
	}
	r.erase()
	fmt.Fprintln(r.e.stdout, termsafe.String(text)) // text holds torrent names
}

// note prints lines for people only (a summary); JSON has them in its
// events' fields.
func (r *reporter) note(lines ...string) {
	if r.json {
		return
	}
	r.erase()
	for _, l := range lines {
		fmt.Fprintln(r.e.stdout, termsafe.String(l))
	}
}

// ring rings the terminal's bell, on a terminal only: piped, a BEL is
// noise in a log.
func (r *reporter) ring() {
	if r.bell && r.e.interactive && !r.json {
		fmt.Fprint(r.e.stderr, "\a")
	}
}

// erase removes the progress lines drawn on the terminal, so an event's
// line takes their place and they are drawn again below it.
func (r *reporter) erase() {
	if !r.e.interactive || r.drawn == 0 {
		return
	}
	if r.drawn > 1 {
		fmt.Fprintf(r.e.stderr, "\033[%dA", r.drawn-1)
	}
	fmt.Fprint(r.e.stderr, "\r\033[J")
	r.drawn = 0
}

// progress prints the state of the torrents as of now.
func (r *reporter) progress(snaps []*swarm.Snapshot, now time.Time) {
	r.network(snaps)
	r.trackers(snaps)
	r.webSeeds(snaps)
	r.bans(snaps)
	if r.json {
		for _, s := range snaps {
			r.enc.Encode(map[string]any{
				"event": "progress", "time": now.UTC().Format(time.RFC3339), "name": s.Name, "info_hash": s.InfoHash,
				"state": s.State, "have": s.Have, "pieces": s.NumPieces, "progress": s.Progress, "left": s.Left,
				"downloaded": s.Downloaded, "uploaded": s.Uploaded, "down_rate": wholeRate(s.DownRate), "up_rate": wholeRate(s.UpRate),
				"peers": len(s.Peers), "seeds": s.Seeds, "ratio": s.Ratio, "eta_seconds": etaSeconds(s), "network": s.Network,
			})
		}
		return
	}
	if r.e.interactive {
		r.erase()
		for i, s := range snaps {
			if i > 0 {
				fmt.Fprint(r.e.stderr, "\n")
			}
			fmt.Fprint(r.e.stderr, "\033[K"+termsafe.String(progressLine(s, now)))
		}
		r.drawn = len(snaps)
		return
	}
	for _, s := range snaps {
		key := lineKey(s)
		if !lineDue(r.printed[s.InfoHash], key, now) {
			continue
		}
		r.printed[s.InfoHash] = printedLine{key: key, at: now}
		fmt.Fprintln(r.e.stdout, termsafe.String(progressLine(s, now))) // names and errors from the torrent
	}
}

// lineKey is what a piped line says that matters: rates and ratio move
// all the time and show in the minute's line.
func lineKey(s *swarm.Snapshot) string {
	return fmt.Sprintf("%s|%s|%d|%d|%d", s.State, s.Error, int(s.Progress*100), len(s.Peers), s.Seeds)
}

// lineDue says whether a torrent's piped line is printed now, given the
// last one printed: the first always, a changed one after changedEvery,
// an unchanged one after quietEvery.
func lineDue(last printedLine, key string, now time.Time) bool {
	switch {
	case last.at.IsZero():
		return true
	case key != last.key:
		return now.Sub(last.at) >= changedEvery
	}
	return now.Sub(last.at) >= quietEvery
}

// trackers tells when a tracker starts failing (in the words the UI
// uses), when its trouble changes, and when it answers again.
func (r *reporter) trackers(snaps []*swarm.Snapshot) {
	for _, s := range snaps {
		for _, t := range s.Trackers {
			k := s.InfoHash + " " + t.URL
			words := tui.TrackerErrorWords(t.LastError)
			before := r.trackerWords[k]
			if words == before {
				continue
			}
			r.trackerWords[k] = words
			fields := map[string]any{"name": s.Name, "info_hash": s.InfoHash, "url": t.URL}
			if words == "" {
				r.event("tracker_ok", fields, fmt.Sprintf("%s: tracker %s answers again", s.Name, t.URL))
				continue
			}
			fields["error"], fields["words"] = t.LastError, words
			r.event("tracker_error", fields, fmt.Sprintf("%s: tracker %s: %s", s.Name, t.URL, words))
		}
	}
}

// webSeeds tells once of each web seed a torrent stopped using.
func (r *reporter) webSeeds(snaps []*swarm.Snapshot) {
	for _, s := range snaps {
		for _, d := range s.WebSeedsDropped {
			k := s.InfoHash + " " + d.URL
			if r.webDropped[k] {
				continue
			}
			r.webDropped[k] = true
			r.event("web_seed_dropped", map[string]any{"name": s.Name, "info_hash": s.InfoHash, "url": d.URL, "error": d.Err},
				fmt.Sprintf("%s: web seed %s dropped: %s", s.Name, d.URL, d.Err))
		}
	}
}

// bans tells when a torrent bans peers for data that failed the hash
// check: the download goes on from the others, and a person watching a
// stall should know why a peer went.
func (r *reporter) bans(snaps []*swarm.Snapshot) {
	for _, s := range snaps {
		if s.Banned <= r.banned[s.InfoHash] {
			continue
		}
		n := s.Banned - r.banned[s.InfoHash]
		r.banned[s.InfoHash] = s.Banned
		r.event("peer_banned", map[string]any{"name": s.Name, "info_hash": s.InfoHash, "banned": s.Banned},
			fmt.Sprintf("%s: banned %s for sending data that failed the hash check (%d so far)", s.Name, plural(n, "peer", "peers"), s.Banned))
	}
}

// wholeRate is a rate in whole bytes per second, as JSON gives it.
func wholeRate(r float64) int64 { return int64(math.Round(max(r, 0))) }

// etaSeconds is the JSON ETA: 0 when done, null when unknown.
func etaSeconds(s *swarm.Snapshot) any {
	switch {
	case s.Left == 0:
		return 0
	case s.ETA > 0:
		return int64(math.Round(s.ETA.Seconds()))
	}
	return nil
}

func progressLine(s *swarm.Snapshot, now time.Time) string {
	line := fmt.Sprintf("%s %s %5.1f%% %s/%s  ↓%s/s ↑%s/s  %s (%s)", s.Name, s.State, s.Progress*100,
		humanize.IBytes(uint64(s.Size-s.Left)), humanize.IBytes(uint64(s.Size)),
		humanize.IBytes(uint64(s.DownRate)), humanize.IBytes(uint64(s.UpRate)), plural(len(s.Peers), "peer", "peers"), plural(s.Seeds, "seed", "seeds"))
	if s.ETA > 0 {
		line += "  ETA " + strings.TrimSpace(humanize.RelTime(now, now.Add(s.ETA), "", ""))
	}
	if s.State == swarm.StateSeeding {
		line += fmt.Sprintf("  ratio %.2f", s.Ratio)
	}
	if s.Error != "" {
		line += "  error: " + s.Error
	}
	return line
}

// downloadResult is one torrent's line of the summary printed when a
// download completes, like aria2's "Download Results".
type downloadResult struct {
	name, path string
	size       int64
	// downloaded is what this run fetched (a resumed download had the
	// rest on disk).
	downloaded int64
	took       time.Duration
}

// fields are the result for a JSON "complete" event.
func (d downloadResult) fields() map[string]any {
	return map[string]any{"size": d.size, "downloaded": d.downloaded, "seconds": math.Round(d.took.Seconds()*10) / 10,
		"average_rate": d.rate(), "path": d.path}
}

func (d downloadResult) rate() int64 {
	return wholeRate(float64(d.downloaded) / max(d.took.Seconds(), 0.001))
}

// lines are the summary for people.
func (d downloadResult) lines() []string {
	// Precision that fits the time: "20ms", "2.3s", "41s"; never "0s".
	took := d.took.Round(time.Second)
	switch {
	case d.took < time.Second:
		took = max(d.took.Round(time.Millisecond), time.Millisecond)
	case d.took < 10*time.Second:
		took = d.took.Round(100 * time.Millisecond)
	}
	got := humanize.IBytes(uint64(d.size))
	if d.downloaded == 0 {
		return []string{"Download results:", fmt.Sprintf("  %s: %s, all of it already on disk", d.name, got), "  saved in " + d.path}
	}
	if d.downloaded < d.size {
		got = fmt.Sprintf("%s (%s of it this run)", got, humanize.IBytes(uint64(d.downloaded)))
	}
	return []string{
		"Download results:",
		fmt.Sprintf("  %s: %s in %s, %s/s on average", d.name, got, took, humanize.IBytes(uint64(d.rate()))),
		"  saved in " + d.path,
	}
}
