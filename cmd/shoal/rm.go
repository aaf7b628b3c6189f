package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRmCmd(e env) *cobra.Command {
	var rf remoteFlags
	var deleteData bool
	cmd := &cobra.Command{
		Use:     "rm ID... [--delete-data]",
		Short:   "Remove torrents from the daemon, and with --delete-data their files",
		Example: "  shoal rm 3\n  shoal rm 4 5 --delete-data",
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := rf.resolveIDs(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			if err := rf.call(cmd.Context(), "torrent-remove", map[string]any{"ids": ids, "delete-local-data": deleteData}, nil); err != nil {
				return err
			}
			for _, id := range ids {
				if rf.jsonOut {
					printJSON(e, map[string]any{"id": id, "result": "removed", "data_deleted": deleteData})
				} else if deleteData {
					fmt.Fprintf(e.stdout, "%d: removed, data deleted\n", id)
				} else {
					fmt.Fprintf(e.stdout, "%d: removed\n", id)
				}
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&deleteData, "delete-data", false, "delete the torrent's files too (never other files beside them)")
	return cmd
}
