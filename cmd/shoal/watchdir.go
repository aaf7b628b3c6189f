package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/shoal-torrent/shoal/daemon"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// watchDir adds every .torrent that appears in dir, as Transmission's
// watch directory does: renamed NAME.torrent.added once added, or
// NAME.torrent.invalid (with a log line) when it is not a torrent. It
// looks every two seconds; a file still being written is taken on a
// later pass once its size has held still.
func watchDir(ctx context.Context, log *slog.Logger, dir string, d *daemon.Daemon) {
	sizes := map[string]int64{}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		scanWatchDir(log, dir, d, sizes)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func scanWatchDir(log *slog.Logger, dir string, d *daemon.Daemon, sizes map[string]int64) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.torrent"))
	if err != nil {
		return
	}
	for _, p := range matches {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if last, seen := sizes[p]; !seen || last != fi.Size() {
			sizes[p] = fi.Size() // wait one pass for the writer to finish
			continue
		}
		delete(sizes, p)
		raw, err := readTorrentAt(p)
		suffix := ".added"
		if err == nil {
			var st daemon.Status
			st, _, err = d.Add(daemon.AddRequest{Metainfo: raw})
			if err == nil {
				log.Info("watch dir: added", "file", filepath.Base(p), "id", st.ID)
			}
		}
		if err != nil {
			if errors.Is(err, daemon.ErrClosed) {
				return
			}
			suffix = ".invalid"
			log.Warn("watch dir: not a torrent", "file", filepath.Base(p), "err", err)
		}
		if err := os.Rename(p, p+suffix); err != nil {
			log.Warn("watch dir: rename", "file", filepath.Base(p), "err", err)
		}
	}
}

// readTorrentAt reads a .torrent file within meta.MaxTorrentSize (an
// oversized one is refused unread): the watch dir, shoal add and the
// daemon watch's add all read through it.
func readTorrentAt(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return meta.ReadTorrent(f)
}
