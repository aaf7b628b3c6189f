package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func newSetCmd(e env) *cobra.Command {
	var rf remoteFlags
	var seedRatio float64
	var files []string
	var queuePos int
	var sequential bool
	var upLimit, downLimit string
	cmd := &cobra.Command{
		Use:   "set ID... [--seed-ratio X] [--file N=high|normal|low|skip]... [--queue-pos N] [--up-limit R] [--down-limit R]",
		Short: "Change torrents' settings in the daemon",
		Long: `Change per-torrent settings: the ratio at which seeding stops (0: never),
file priorities by the numbers 'shoal show' lists, queue position, and the
torrent's own rate limits (within the daemon's, which transmission-remote
-d/-u set; 0 removes the torrent's own). The RPC counts rates in kB/s of
1000 bytes, so a limit is rounded to that.`,
		Example: "  shoal set 3 --seed-ratio 2\n  shoal set 3 --file 0=skip --file 2=high\n  shoal set 3 --up-limit 512KiB --down-limit 0",
		RunE: func(cmd *cobra.Command, args []string) error {
			req := map[string]any{}
			if cmd.Flags().Changed("seed-ratio") {
				if seedRatio < 0 {
					return usageError{errors.New("--seed-ratio cannot be negative")}
				}
				req["seedRatioLimit"], req["seedRatioMode"] = seedRatio, 1
				if seedRatio == 0 {
					req["seedRatioMode"] = 2
				}
			}
			if cmd.Flags().Changed("sequential") {
				req["sequential_download"] = sequential
			}
			if cmd.Flags().Changed("queue-pos") {
				req["queuePosition"] = queuePos
			}
			for _, l := range []struct {
				flag, limited, limit, v string
			}{{"up-limit", "uploadLimited", "uploadLimit", upLimit}, {"down-limit", "downloadLimited", "downloadLimit", downLimit}} {
				if !cmd.Flags().Changed(l.flag) {
					continue
				}
				kb, err := parseTorrentLimit(l.v)
				if err != nil {
					return usageError{fmt.Errorf("--%s %q: %w", l.flag, l.v, err)}
				}
				req[l.limited] = kb > 0
				if kb > 0 {
					req[l.limit] = kb
				}
			}
			lists := map[string][]int{}
			for _, f := range files {
				n, p, ok := strings.Cut(f, "=")
				i, err := strconv.Atoi(n)
				key := map[string]string{"high": "priority-high", "normal": "priority-normal", "low": "priority-low", "skip": "files-unwanted"}[p]
				if !ok || err != nil || i < 0 || key == "" {
					return usageError{fmt.Errorf("--file %q: want N=high, N=normal, N=low or N=skip", f)}
				}
				lists[key] = append(lists[key], i)
				if p != "skip" {
					lists["files-wanted"] = append(lists["files-wanted"], i)
				}
			}
			for k, v := range lists {
				req[k] = v
			}
			if len(req) == 0 {
				return usageError{errors.New("nothing to set: give --seed-ratio, --file, --sequential, --queue-pos, --up-limit or --down-limit")}
			}
			ids, err := rf.resolveIDs(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			req["ids"] = ids
			if err := rf.call(cmd.Context(), "torrent-set", req, nil); err != nil {
				return err
			}
			for _, id := range ids {
				if rf.jsonOut {
					printJSON(e, map[string]any{"id": id, "result": "set"})
				} else {
					fmt.Fprintf(e.stdout, "%d: set\n", id)
				}
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().Float64Var(&seedRatio, "seed-ratio", 0, "stop seeding at this uploaded/size ratio (0: never)")
	cmd.Flags().StringArrayVar(&files, "file", nil, "N=high|normal|low|skip: a file's priority (low: fetched after normal and high); may repeat")
	cmd.Flags().IntVar(&queuePos, "queue-pos", 0, "queue position (0 first)")
	cmd.Flags().BoolVar(&sequential, "sequential", false, "download pieces in order (--sequential=false: rarest first)")
	cmd.Flags().StringVar(&upLimit, "up-limit", "", "this torrent's upload limit per second, e.g. 512KiB (0: none of its own)")
	cmd.Flags().StringVar(&downLimit, "down-limit", "", "this torrent's download limit per second, e.g. 2MiB (0: none of its own)")
	return cmd
}

// parseTorrentLimit reads a rate for the RPC, which counts kB/s of 1000
// bytes: 0 (or none, unlimited) is no limit of the torrent's own, and a
// rate rounds to the nearest kB/s, at least 1.
func parseTorrentLimit(v string) (int64, error) {
	switch strings.ToLower(v) {
	case "0", "none", "unlimited":
		return 0, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<50 {
		return 0, errors.New("want a rate such as 512KiB or 2MB, or 0 for none")
	}
	return max(int64((n+500)/1000), 1), nil
}
