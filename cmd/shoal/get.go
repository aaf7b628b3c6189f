package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
)

func newGetCmd(e env) *cobra.Command {
	var (
		f         swarmFlags
		noSeed    bool
		seedRatio float64
	)
	cmd := &cobra.Command{
		Use:   "get TORRENT|MAGNET",
		Short: "Download a torrent, then seed it",
		Long: `Download a torrent into --dir, then seed it until the ratio is reached or
Ctrl-C. Data already in --dir is verified first (or trusted from resume
state when its files are unchanged), so an interrupted download resumes.

Ctrl-C stops cleanly: trackers are told, resume state is saved, files stay
intact. The exit status is 0 once the download is complete, 130 when it was
interrupted before that, 1 on errors (a full disk, say).`,
		Example: `  shoal get ubuntu.iso.torrent --dir ~/Downloads
  shoal get 'magnet:?xt=urn:btih:...&dn=album&tr=udp://tracker.example:6969'
  shoal get album.torrent --no-seed --peer 192.168.1.20:6881
  shoal get big.torrent --seed-ratio 2 --up-limit 1MiB --port 0
  shoal get data.torrent --json | jq -c 'select(.event=="complete")'`,
		Args: exactArgs(1, "one .torrent file or magnet link"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if noSeed && seedRatio > 0 {
				return usageError{errors.New("--no-seed and --seed-ratio contradict each other")}
			}
			if seedRatio < 0 {
				return usageError{errors.New("--seed-ratio cannot be negative")}
			}
			peers, err := f.peerAddrs(cmd.Context())
			if err != nil {
				return err
			}
			isMagnet := meta.IsMagnet(args[0])
			var m *meta.Torrent
			var mag *meta.Magnet
			if isMagnet {
				if mag, err = meta.ParseMagnet(args[0]); err != nil {
					return err
				}
			} else if m, err = loadTorrent(args[0]); err != nil {
				return err
			}
			offerDaemon(cmd.Context(), e, args, f.dir) // advice only: get still runs standalone
			ui := f.useUI(e)
			s, r, closeSession, err := f.open(e, ui)
			if err != nil {
				return err
			}
			defer closeSession()
			if m, peers, err = f.resolveTarget(cmd.Context(), e, r, s, args[0], mag, m, peers); err != nil {
				return err
			}
			t, err := s.Add(m, f.torrentConfig(peers))
			if err != nil {
				return err
			}
			eng := newLiveEngine([]string{m.Name}, []*swarm.Torrent{t}) // for the UI and shoal watch alike
			defer startControl(r, f.stateDir, s.Port(), eng)()
			began := time.Now()
			// Said once everything is in place, shoal watch's socket too;
			// started before listening, as seed says them.
			ih := m.InfoHash.HexString()
			r.event("started", map[string]any{"name": m.Name, "info_hash": ih, "size": m.Layout.DataTotal},
				fmt.Sprintf("%s: %s in %s, saving to %s", m.Name, humanize.IBytes(uint64(m.Layout.DataTotal)), plural(m.Layout.NumPieces, "piece", "pieces"), f.dir))
			r.event("listening", map[string]any{"port": s.Port()}, fmt.Sprintf("listening on port %d", s.Port()))
			announced := false
			err = runSwarm(cmd.Context(), r, ui, eng, []*swarm.Torrent{t}, t.Completed(),
				func(rep *reporter) (bool, error) {
					snap := t.Snapshot()
					if snap.State == swarm.StateError {
						return true, errors.New(snap.Error)
					}
					if !isClosed(t.Completed()) {
						return false, nil
					}
					if !announced {
						announced = true
						res := downloadResult{name: m.Name, path: savedPath(f.dir, m.Name), size: m.Layout.DataTotal,
							downloaded: max(t.LeftAfterCheck(), 0), took: time.Since(began)}
						fields := res.fields()
						fields["name"], fields["info_hash"] = m.Name, ih
						rep.event("complete", fields, fmt.Sprintf("%s: download complete", m.Name))
						rep.note(res.lines()...)
						rep.ring()
					}
					return noSeed || seedRatio > 0 && snap.Ratio >= seedRatio, nil
				})
			complete := isClosed(t.Completed())
			t.Stop()
			// After an error the advice to run again would mislead: the
			// error line says what to fix.
			failed := err != nil && !errors.Is(err, context.Canceled)
			r.event("stopped", map[string]any{"name": m.Name, "info_hash": ih, "complete": complete}, stoppedText(m.Name, complete, failed))
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				return err
			case !complete:
				return exitCodeError{code: 130, msg: ""}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&noSeed, "no-seed", false, "exit as soon as the download is complete and verified")
	cmd.Flags().Float64Var(&seedRatio, "seed-ratio", 0, "stop seeding once uploaded/size reaches this (default: seed until Ctrl-C)")
	return cmd
}

func stoppedText(name string, complete, failed bool) string {
	switch {
	case complete:
		return name + ": stopped; the download is complete"
	case failed:
		return name + ": stopped before completion"
	}
	return name + ": stopped before completion; run the same command to resume"
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// savedPath is where a torrent's data is: its file or top folder in dir,
// made absolute so a summary can be pasted anywhere.
func savedPath(dir, name string) string {
	p := filepath.Join(dir, name)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
