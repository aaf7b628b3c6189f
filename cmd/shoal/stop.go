package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newStopCmd(e env) *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the daemon cleanly: stopped announces sent, every torrent's state saved",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rf.call(cmd.Context(), "session-close", nil, nil); err != nil {
				return err
			}
			if rf.jsonOut {
				return printJSON(e, map[string]any{"result": "stopping"})
			}
			fmt.Fprintln(e.stdout, "the daemon is stopping")
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
