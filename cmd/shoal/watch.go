package main

import (
	"github.com/spf13/cobra"
)

func newWatchCmd(e env) *cobra.Command {
	var socket, stateDir string
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Attach the terminal UI to a running shoal get or seed",
		Long: `Open the terminal UI on a shoal get or seed running elsewhere (for example
shoal seed --daemon). Quitting the UI leaves it running. The connection is
a Unix socket in the state directory that only its owner can open.`,
		Example: `  shoal seed ~/torrents --dir /srv/data --daemon &
  shoal watch
  shoal watch --socket ~/.local/state/shoal/shoal-6881.sock`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if socket == "" {
				var err error
				if socket, err = findControl(stateDir); err != nil {
					return err
				}
			}
			eng, err := dialControl(socket)
			if err != nil {
				return err
			}
			defer eng.conn.Close()
			return runUI(cmd.Context(), eng)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "control socket of the process to watch (default: the only one running)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where running processes put their sockets")
	return cmd
}
