package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/tracker"
	"github.com/shoal-torrent/shoal/tui"
)

func newWatchCmd(e env) *cobra.Command {
	var socket, stateDir, trackerURL string
	var noBell bool
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Attach the terminal UI to a running shoal get or seed",
		Long: `Open the terminal UI on a shoal get or seed running elsewhere (for example
shoal seed --daemon). Quitting the UI leaves it running. The connection is
a Unix socket that only its owner can open, in the state directory (or,
when that path is too long for a socket, in $XDG_RUNTIME_DIR/shoal or
/tmp/shoal-UID).

With --tracker, show a tracker's swarms and rates from its /stats instead.`,
		Example: `  shoal seed ~/torrents --dir /srv/data --daemon &
  shoal watch
  shoal watch --socket ~/.local/state/shoal/shoal-6881.sock
  shoal watch --tracker http://127.0.0.1:6969`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trackerURL != "" {
				return watchTracker(cmd.Context(), trackerURL)
			}
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
			return runUI(cmd.Context(), eng, !noBell)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "control socket of the process to watch (default: the only one running)")
	cmd.Flags().StringVar(&stateDir, "state-dir", defaultStateDir(), "where running processes put their sockets")
	cmd.Flags().BoolVar(&noBell, "no-bell", false, "do not ring the terminal bell when a torrent finishes downloading")
	cmd.Flags().StringVar(&trackerURL, "tracker", "", "show the tracker at this base URL (its /stats) instead")
	return cmd
}

// statsURL turns a tracker's base or announce URL into its /stats URL.
func statsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageError{fmt.Errorf("--tracker %q: want the tracker's http:// URL", base)}
	}
	u.Path, u.RawQuery = "/stats", ""
	return u.String(), nil
}

func fetchTrackerStats(client *http.Client, u string) (tui.TrackerStats, error) {
	resp, err := client.Get(u)
	if err != nil {
		return tui.TrackerStats{}, fmt.Errorf("tracker at %s: %s (is it running, and is that its address?)", u, netWords(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return tui.TrackerStats{}, fmt.Errorf("%s: %s", u, resp.Status)
	}
	var st tracker.Stats
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return tui.TrackerStats{}, fmt.Errorf("%s did not answer with a shoal tracker's statistics (is it a shoal tracker?)", u)
	}
	out := tui.TrackerStats{Torrents: st.Torrents, Seeders: st.Seeders, Leechers: st.Leechers,
		AnnouncesPerSecond: st.AnnouncesPerSecond, ScrapesPerSecond: st.ScrapesPerSecond,
		Uptime: time.Duration(st.UptimeSeconds) * time.Second}
	for _, sw := range st.Swarms {
		out.Swarms = append(out.Swarms, tui.TrackerSwarm{InfoHash: sw.InfoHash, Seeders: sw.Seeders, Leechers: sw.Leechers, Completed: sw.Downloaded})
	}
	return out, nil
}

func watchTracker(ctx context.Context, base string) error {
	u, err := statsURL(base)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if _, err := fetchTrackerStats(client, u); err != nil {
		return err
	}
	m := tui.NewTracker(u, func() (tui.TrackerStats, error) { return fetchTrackerStats(client, u) }, time.Second)
	if noColor() {
		m = m.NoColor()
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	_, err = p.Run()
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
