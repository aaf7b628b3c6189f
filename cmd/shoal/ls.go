package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newLsCmd(e env) *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the daemon's torrents, one line each",
		Long: `List the running daemon's torrents: id, done, size, state (checking,
downloading, seeding, queued, stopped, error), rates, ratio and name.`,
		Example: `  shoal ls
  shoal ls --json | jq -r 'select(.status == "seeding") | .name'`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := rf.torrents(cmd.Context(), nil, listFields)
			if err != nil {
				return err
			}
			for _, t := range list {
				if rf.jsonOut {
					printJSON(e, map[string]any{"id": t.ID, "name": t.Name, "info_hash": t.HashString,
						"status": statusName(t), "progress": t.PercentDone, "size": t.SizeWhenDone,
						"left": t.LeftUntilDone, "down_rate": t.RateDownload, "up_rate": t.RateUpload,
						"ratio": t.UploadRatio, "eta_seconds": t.ETA, "error": t.ErrorString, "dir": t.DownloadDir,
						"peers": t.PeersConn, "queue_position": t.QueuePosition})
					continue
				}
				fmt.Fprintln(e.stdout, torrentLine(t))
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
