package rpc

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// resolve turns an ids argument into daemon ids. As in Transmission, ids
// that match nothing are left out, not an error. Numbers alone read only
// the torrents they name, not the whole list.
func (s *Server) resolve(sel idSelector) ([]int, error) {
	list, err := s.selectTorrents(sel, false)
	if err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(list))
	for _, t := range list {
		ids = append(ids, t.ID)
	}
	return ids, nil
}

// pick keeps the torrents the selector names, in order.
func (sel idSelector) pick(all []daemon.Status) []daemon.Status {
	if !sel.set {
		return all
	}
	want := map[int]bool{}
	for _, n := range sel.nums {
		want[n] = true
	}
	hashes := map[string]bool{}
	for _, h := range sel.hashes {
		hashes[h] = true
	}
	var out []daemon.Status
	for _, t := range all {
		if want[t.ID] || hashes[t.InfoHash] || sel.recentlyActive && active(t) {
			out = append(out, t)
		}
	}
	return out
}

// selectTorrents reads the torrents a selector names with one read of
// the list when it can: every torrent, ids alone (the engine leaves out
// those it does not have), or any selector without detail. Only hashes
// or recently-active with detail read twice: the summary to pick, then
// the picked ones in detail.
func (s *Server) selectTorrents(sel idSelector, detail bool) ([]daemon.Status, error) {
	e := s.cfg.Engine
	switch {
	case !sel.set:
		return e.Torrents(nil, detail)
	case len(sel.hashes) == 0 && !sel.recentlyActive:
		if len(sel.nums) == 0 {
			return nil, nil
		}
		return e.Torrents(slices.Compact(slices.Sorted(slices.Values(sel.nums))), detail)
	case !detail:
		all, err := e.Torrents(nil, false)
		return sel.pick(all), err
	}
	ids, err := s.resolve(sel)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return e.Torrents(ids, true)
}

func active(t daemon.Status) bool {
	return t.DownRate > 0 || t.UpRate > 0 || t.State == "checking" || t.State == daemon.StateMetadata
}

type idsArgs struct {
	IDs idSelector `json:"ids"`
}

// onIDs runs op on the torrents a request names.
func (s *Server) onIDs(raw json.RawMessage, op func([]int) error) (any, error) {
	var a idsArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	ids, err := s.resolve(a.IDs)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return nil, op(ids)
}

func (s *Server) torrentRemove(raw json.RawMessage) (any, error) {
	var a struct {
		Delete bool `json:"delete-local-data"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	return s.onIDs(raw, func(ids []int) error { return s.cfg.Engine.Remove(ids, a.Delete) })
}

// maxFields bounds torrent-get's field list.
const maxFields = 200

func (s *Server) torrentGet(raw json.RawMessage) (any, error) {
	var a struct {
		IDs    idSelector `json:"ids"`
		Fields []string   `json:"fields"`
		Format string     `json:"format"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.Fields) == 0 {
		return nil, errors.New("torrent-get needs a list of fields")
	}
	if len(a.Fields) > maxFields {
		return nil, fmt.Errorf("torrent-get: more than %d fields", maxFields)
	}
	if a.Format != "" && a.Format != "objects" && a.Format != "table" {
		return nil, fmt.Errorf("torrent-get: format %q: want objects or table", truncate(a.Format, 40))
	}
	list, err := s.selectTorrents(a.IDs, needsDetail(a.Fields))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if a.Format == "table" {
		table := []any{a.Fields}
		for _, t := range list {
			row := make([]any, len(a.Fields))
			obj := torrentFields(t, a.Fields)
			for i, f := range a.Fields {
				row[i] = obj[f]
			}
			table = append(table, row)
		}
		out["torrents"] = table
	} else {
		objs := make([]map[string]any, 0, len(list))
		for _, t := range list {
			objs = append(objs, torrentFields(t, a.Fields))
		}
		out["torrents"] = objs
	}
	if a.IDs.recentlyActive {
		out["removed"] = []int{}
	}
	return out, nil
}

func (s *Server) torrentAdd(raw json.RawMessage) (any, error) {
	var a struct {
		Filename    string `json:"filename"`
		Metainfo    string `json:"metainfo"`
		DownloadDir string `json:"download-dir"`
		Paused      *bool  `json:"paused"`
		Sequential  bool   `json:"sequential_download"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	req := daemon.AddRequest{Dir: a.DownloadDir, Paused: a.Paused != nil && *a.Paused, Sequential: a.Sequential}
	switch {
	case a.Metainfo != "":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.Metainfo))
		if err != nil {
			return nil, errors.New("invalid or corrupt torrent file: metainfo is not base64")
		}
		req.Metainfo = b
	case meta.IsMagnet(a.Filename):
		req.Magnet = a.Filename
	case strings.HasPrefix(a.Filename, "http://") || strings.HasPrefix(a.Filename, "https://"):
		if s.cfg.FetchURL == nil {
			return nil, errors.New("adding by URL is not enabled on this daemon")
		}
		b, err := s.cfg.FetchURL(a.Filename)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", truncate(a.Filename, 200), err)
		}
		req.Metainfo = b
	case a.Filename != "":
		b, err := readTorrentFile(a.Filename)
		if err != nil {
			return nil, err
		}
		req.Metainfo = b
	default:
		return nil, errors.New("torrent-add needs filename or metainfo")
	}
	st, dup, err := s.cfg.Engine.Add(req)
	if err != nil {
		return nil, err
	}
	key := "torrent-added"
	if dup {
		key = "torrent-duplicate"
	}
	return map[string]any{key: map[string]any{"id": st.ID, "name": st.Name, "hashString": st.InfoHash}}, nil
}

// readTorrentFile reads a .torrent on the daemon's machine, bounded.
func readTorrentFile(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("filename %q: give an absolute path, a magnet link or a URL", truncate(path, 200))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", truncate(path, 200), errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", truncate(path, 200))
	}
	b, err := meta.ReadTorrent(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", truncate(path, 200), err)
	}
	return b, nil
}

func (s *Server) torrentSet(raw json.RawMessage) (any, error) {
	var a struct {
		IDs            idSelector `json:"ids"`
		FilesWanted    []int      `json:"files-wanted"`
		FilesUnwanted  []int      `json:"files-unwanted"`
		PriorityHigh   []int      `json:"priority-high"`
		PriorityNormal []int      `json:"priority-normal"`
		PriorityLow    []int      `json:"priority-low"`
		SeedRatioLimit *float64   `json:"seedRatioLimit"`
		SeedRatioMode  *int       `json:"seedRatioMode"`
		DownLimited    *bool      `json:"downloadLimited"`
		UpLimited      *bool      `json:"uploadLimited"`
		DownLimit      *int64     `json:"downloadLimit"` // kB/s
		UpLimit        *int64     `json:"uploadLimit"`
		QueuePosition  *int       `json:"queuePosition"`
		Location       *string    `json:"location"`
		Sequential     *bool      `json:"sequential_download"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	var set daemon.Settings
	var err error
	if set.DownLimit, err = torrentLimit("download", a.DownLimited, a.DownLimit); err != nil {
		return nil, err
	}
	if set.UpLimit, err = torrentLimit("upload", a.UpLimited, a.UpLimit); err != nil {
		return nil, err
	}
	files := map[int]string{}
	// Transmission keeps wanted and priority apart; shoal has one scale,
	// skip < low < normal < high: unwanted wins, and wanted alone leaves
	// a priority as it is (a skipped file becomes normal).
	for _, l := range []struct {
		idx []int
		p   string
	}{{a.PriorityLow, "low"}, {a.PriorityNormal, "normal"}, {a.PriorityHigh, "high"}, {a.FilesWanted, ""}, {a.FilesUnwanted, "skip"}} {
		for _, i := range l.idx {
			switch {
			case l.p != "":
				files[i] = l.p
			case files[i] == "":
				files[i] = "wanted"
			}
		}
	}
	if len(files) > 0 {
		set.Files = files
	}
	if a.SeedRatioMode != nil {
		switch *a.SeedRatioMode {
		case 0, 2:
			zero := 0.0
			set.SeedRatio = &zero
		case 1:
		default:
			return nil, fmt.Errorf("seedRatioMode %d: want 0, 1 or 2", *a.SeedRatioMode)
		}
	}
	if a.SeedRatioLimit != nil && (a.SeedRatioMode == nil || *a.SeedRatioMode == 1) {
		set.SeedRatio = a.SeedRatioLimit
	}
	set.QueuePos, set.Sequential = a.QueuePosition, a.Sequential
	ids, err := s.resolve(a.IDs)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	if a.Location != nil {
		if err := s.cfg.Engine.Relocate(ids, *a.Location, false); err != nil {
			return nil, err
		}
	}
	return nil, s.cfg.Engine.Set(ids, set)
}

// torrentLimit turns torrent-set's limit and its switch into bytes per
// second: off is 0 (none of its own); a limit sets it. shoal keeps no
// switched-off limit to switch back on, so "on" alone changes nothing.
func torrentLimit(what string, on *bool, kbps *int64) (*int64, error) {
	if on != nil && !*on {
		zero := int64(0)
		return &zero, nil
	}
	if kbps == nil {
		return nil, nil
	}
	if *kbps < 0 || *kbps > 1<<40 {
		return nil, fmt.Errorf("%sLimit %d: want kB/s, 0 or more", what, *kbps)
	}
	bps := *kbps * kilo
	return &bps, nil
}

func (s *Server) freeSpace(raw json.RawMessage) (any, error) {
	var a struct {
		Path string `json:"path"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(a.Path) {
		return nil, errors.New("free-space needs an absolute path")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(a.Path, &st); err != nil {
		return nil, fmt.Errorf("free-space %s: %w", truncate(a.Path, 200), err)
	}
	return map[string]any{"path": a.Path, "size-bytes": int64(st.Bavail) * st.Bsize, "total_size": int64(st.Blocks) * st.Bsize}, nil
}

func (s *Server) torrentSetLocation(raw json.RawMessage) (any, error) {
	var a struct {
		IDs      idSelector `json:"ids"`
		Location string     `json:"location"`
		Move     bool       `json:"move"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Location == "" {
		return nil, errors.New("torrent-set-location needs a location")
	}
	ids, err := s.resolve(a.IDs)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return nil, s.cfg.Engine.Relocate(ids, a.Location, a.Move)
}
