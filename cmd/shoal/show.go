package main

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
)

func newShowCmd(e env) *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show one torrent of the daemon: files, peers, trackers",
		Example: `  shoal show 3` + "\n" + `  shoal show 9f3c --json`,
		Args:    exactArgs(1, "a torrent id or info hash prefix"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := rf.resolveIDs(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			fields := append(append([]string(nil), listFields...), "files", "wanted", "priorities", "peers", "trackerStats")
			list, err := rf.torrents(cmd.Context(), ids, fields)
			if err != nil {
				return err
			}
			if len(list) != 1 {
				return fmt.Errorf("torrent %s is gone", args[0])
			}
			t := list[0]
			if rf.jsonOut {
				return printJSON(e, t)
			}
			var b strings.Builder
			fmt.Fprintln(&b, torrentLine(t))
			fmt.Fprintf(&b, "  info hash %s\n  saved in %s\n", t.HashString, t.DownloadDir)
			fmt.Fprintf(&b, "files (%d):\n", len(t.Files))
			for i, f := range t.Files {
				prio := "normal"
				if i < len(t.Wanted) && !t.Wanted[i] {
					prio = "skip"
				} else if i < len(t.Priorities) && t.Priorities[i] > 0 {
					prio = "high"
				} else if i < len(t.Priorities) && t.Priorities[i] < 0 {
					prio = "low"
				}
				pct := 100.0
				if f.Length > 0 {
					pct = 100 * float64(f.BytesCompleted) / float64(f.Length)
				}
				fmt.Fprintf(&b, "  %3d  %5.1f%%  %9s  %-6s  %s\n", i, pct, humanize.IBytes(uint64(f.Length)), prio, f.Name)
			}
			fmt.Fprintf(&b, "peers (%d):\n", len(t.Peers))
			for _, p := range t.Peers {
				fmt.Fprintf(&b, "  %-40s  %-6s  %5.1f%%  ↓%9s/s  ↑%9s/s  %s\n", fmt.Sprintf("%s:%d", p.Address, p.Port),
					p.FlagStr, p.Progress*100, humanize.IBytes(uint64(p.RateToClient)), humanize.IBytes(uint64(p.RateToPeer)), p.ClientName)
			}
			fmt.Fprintf(&b, "trackers (%d):\n", len(t.TrackerStats))
			for _, tr := range t.TrackerStats {
				fmt.Fprintf(&b, "  %s  %s  seeds %d, leechers %d\n", tr.Announce, tr.LastAnnounceResult, tr.SeederCount, tr.LeecherCount)
			}
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				fmt.Fprintln(e.stdout, termsafe.String(line)) // names and addresses come from peers and torrents
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
