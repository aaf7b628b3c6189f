package main

import "github.com/spf13/cobra"

func newRecheckCmd(e env) *cobra.Command {
	return idsCommand(e, "recheck", "Hash torrents' data again from scratch", "torrent-verify", "rechecking")
}
