package main

import "github.com/spf13/cobra"

func newResumeCmd(e env) *cobra.Command {
	return idsCommand(e, "resume", "Start paused torrents of the daemon again (queued if the queue is full)", "torrent-start", "resumed")
}
