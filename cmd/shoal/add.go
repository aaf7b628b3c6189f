package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/piece/meta"
)

func newAddCmd(e env) *cobra.Command {
	var rf remoteFlags
	var dir string
	var paused, sequential bool
	cmd := &cobra.Command{
		Use:   "add FILE|MAGNET|URL...",
		Short: "Add torrents to the running daemon",
		Long: `Add .torrent files, magnet links or http(s) URLs of .torrent files to the
running shoal daemon. A file is read here and sent; a URL is fetched by the
daemon. One line per torrent: its id and name.`,
		Example: `  shoal add ubuntu.iso.torrent
  shoal add 'magnet:?xt=urn:btih:...' --dir /srv/torrents/iso --paused
  shoal add film.torrent --sequential`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("add needs a .torrent file, magnet link or URL (see 'shoal add --help')")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir != "" {
				abs, err := filepath.Abs(dir)
				if err != nil {
					return err
				}
				dir = abs
			}
			var failed error
			for _, a := range args {
				req := map[string]any{"paused": paused}
				if sequential {
					req["sequential_download"] = true
				}
				if dir != "" {
					req["download-dir"] = dir
				}
				switch {
				case meta.IsMagnet(a), strings.HasPrefix(a, "http://"), strings.HasPrefix(a, "https://"):
					req["filename"] = a
				default:
					raw, err := readTorrentAt(a)
					if err != nil {
						return torrentError(a, err)
					}
					if _, err := meta.ParseWith(raw, meta.ParseOptions{AllowV2Only: true}); err != nil {
						return torrentError(a, err)
					}
					req["metainfo"] = base64.StdEncoding.EncodeToString(raw)
				}
				var out map[string]struct {
					ID         int    `json:"id"`
					Name       string `json:"name"`
					HashString string `json:"hashString"`
				}
				if err := rf.call(cmd.Context(), "torrent-add", req, &out); err != nil {
					if len(args) == 1 {
						return err
					}
					warn(e, "%s: %v", a, err)
					failed = errors.New("some torrents were not added")
					continue
				}
				for key, t := range out {
					what := "added"
					if key == "torrent-duplicate" {
						what = "already there"
					}
					if rf.jsonOut {
						printJSON(e, map[string]any{"id": t.ID, "name": t.Name, "info_hash": t.HashString, "result": what})
					} else {
						fmt.Fprintln(e.stdout, termsafe.String(fmt.Sprintf("%d: %s: %s", t.ID, what, t.Name)))
					}
				}
			}
			return failed
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVarP(&dir, "dir", "d", "", "save path (default: the daemon's --dir)")
	cmd.Flags().BoolVar(&paused, "paused", false, "add stopped; start with shoal resume")
	cmd.Flags().BoolVar(&sequential, "sequential", false, "download pieces in order (to play media while it downloads)")
	return cmd
}
