package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newSetCmd(e env) *cobra.Command {
	var rf remoteFlags
	var seedRatio float64
	var files []string
	var queuePos int
	var sequential bool
	cmd := &cobra.Command{
		Use:   "set ID... [--seed-ratio X] [--file N=high|normal|skip]... [--queue-pos N]",
		Short: "Change torrents' settings in the daemon",
		Long: `Change per-torrent settings: the ratio at which seeding stops (0: never),
file priorities by the numbers 'shoal show' lists, and queue position.
Speed limits are the daemon's, for all torrents: see transmission-remote -d/-u.`,
		Example: "  shoal set 3 --seed-ratio 2\n  shoal set 3 --file 0=skip --file 2=high",
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
			lists := map[string][]int{}
			for _, f := range files {
				n, p, ok := strings.Cut(f, "=")
				i, err := strconv.Atoi(n)
				key := map[string]string{"high": "priority-high", "normal": "priority-normal", "skip": "files-unwanted"}[p]
				if !ok || err != nil || i < 0 || key == "" {
					return usageError{fmt.Errorf("--file %q: want N=high, N=normal or N=skip", f)}
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
				return usageError{errors.New("nothing to set: give --seed-ratio, --file, --sequential or --queue-pos")}
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
	cmd.Flags().StringArrayVar(&files, "file", nil, "N=high|normal|skip: a file's priority; may repeat")
	cmd.Flags().IntVar(&queuePos, "queue-pos", 0, "queue position (0 first)")
	cmd.Flags().BoolVar(&sequential, "sequential", false, "download pieces in order (--sequential=false: rarest first)")
	return cmd
}
