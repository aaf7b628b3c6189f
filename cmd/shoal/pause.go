package main

import "github.com/spf13/cobra"

func newPauseCmd(e env) *cobra.Command {
	return idsCommand(e, "pause", "Stop torrents of the daemon (peers closed, trackers told, resume state saved)", "torrent-stop", "paused")
}
