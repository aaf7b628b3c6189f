package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/swarm"
)

func newDHTCmd(e env) *cobra.Command {
	var (
		port      int
		bootstrap []string
		stateDir  string
		every     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dht",
		Short: "Run a standalone DHT node",
		Long: `Run a DHT node (BEP 5) on its own: a bootstrap node for a private network,
or a node that helps the public DHT. It reports its routing table and
traffic every interval, and keeps the table in the state directory.`,
		Example: `  shoal dht --port 6881
  shoal dht --port 7000 --bootstrap 192.168.1.10:6881`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if port < 0 || port > 65535 {
				return usageError{fmt.Errorf("--port %d: want a port number from 0 to 65535 (0 picks a free one)", port)}
			}
			if every < time.Second {
				return usageError{fmt.Errorf("--report %s: want at least 1s, e.g. 10s or 1m", every)}
			}
			if err := os.MkdirAll(stateDir, 0o755); err != nil {
				return err
			}
			d, err := swarm.NewDHT(swarm.DHTConfig{Addr: fmt.Sprintf(":%d", port), Bootstrap: bootstrap,
				NodesFile: filepath.Join(stateDir, fmt.Sprintf("dht-%d.nodes", port)),
				Logger:    slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				return err
			}
			defer d.Close()
			fmt.Fprintf(e.stdout, "dht node listening on udp port %d\n", d.Addr().Port())
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-cmd.Context().Done():
					fmt.Fprintln(e.stdout, "dht node stopped; routing table saved")
					return nil
				case <-tick.C:
					st := d.Stats()
					fmt.Fprintf(e.stdout, "nodes %d (%d good), queries sent %d, announces accepted %d, bad nodes %d\n",
						st.Nodes, st.GoodNodes, st.OutboundQueriesAttempted, st.SuccessfulOutboundAnnouncePeerQueries, st.BadNodes)
				}
			}
		},
	}
	cmd.Flags().IntVarP(&port, "port", "p", 6881, "UDP port (0 picks a free one)")
	cmd.Flags().StringArrayVar(&bootstrap, "bootstrap", nil, "HOST:PORT of a node to join through; may repeat (default: the public routers)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where the routing table is kept")
	cmd.Flags().DurationVar(&every, "report", 10*time.Second, "how often to report")
	return cmd
}
