package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/swarm"
)

func newSeedCmd(e env) *cobra.Command {
	var f swarmFlags
	var daemon, superSeed bool
	cmd := &cobra.Command{
		Use:   "seed TORRENT|DIR... --dir DIR",
		Short: "Seed one or more torrents until Ctrl-C",
		Long: `Seed torrents whose data is in --dir (the save path). Each torrent's data is
verified first, or trusted from resume state when its files are unchanged.
A directory argument seeds every .torrent in it; one that is not a valid
torrent, or repeats another's infohash, is skipped with a warning. All
torrents share one listen port. A torrent whose data is incomplete
downloads the rest first.`,
		Example: `  shoal seed album.torrent --dir ~/Music
  shoal seed ~/torrents/ --dir /srv/data --port 51413 --up-limit 5MiB`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("seed needs at least one .torrent file or directory (see 'shoal seed --help')")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			peers, err := f.peerAddrs(cmd.Context())
			if err != nil {
				return err
			}
			paths, err := torrentFiles(args)
			if err != nil {
				return err
			}
			offerDaemon(cmd.Context(), e, args, f.dir) // advice only: seed still runs standalone
			ui := f.useUI(e) && !daemon
			s, r, closeSession, err := f.open(e, ui)
			if err != nil {
				return err
			}
			defer closeSession()
			var torrents []*swarm.Torrent
			seen := map[[20]byte]string{}
			for _, p := range paths {
				m, err := loadTorrent(p.path)
				if err != nil && !p.inDir {
					return err
				}
				if err != nil {
					// One bad file in a directory must not stop the rest.
					warn(e, "%v; skipping it", err)
					continue
				}
				if other, dup := seen[m.InfoHash]; dup {
					warn(e, "skipping %s: the same torrent as %s", p.path, other)
					continue
				}
				seen[m.InfoHash] = p.path
				warnTorrent(e, r, m)
				warnNothingThere(e, r, m, f.dir)
				cfg := f.torrentConfig(peers)
				cfg.SuperSeed = superSeed
				t, err := s.Add(m, cfg)
				if err != nil {
					return fmt.Errorf("%s: %w", p.path, err)
				}
				torrents = append(torrents, t)
				r.event("started", map[string]any{"name": m.Name, "info_hash": m.InfoHash.HexString(), "size": m.Layout.DataTotal},
					fmt.Sprintf("%s: %s, seeding from %s", m.Name, humanize.IBytes(uint64(m.Layout.DataTotal)), f.dir))
			}
			if len(torrents) == 0 {
				return errors.New("no torrent left to seed")
			}
			eng := &liveEngine{}
			for _, t := range torrents {
				eng.add(t.Meta().Name, t)
			}
			// A control socket that cannot be made costs shoal watch,
			// never the seeding.
			defer startControl(r, f.stateDir, s.Port(), eng)()
			// Said once every torrent is registered, so a peer that
			// reacts to it finds them all.
			r.event("listening", map[string]any{"port": s.Port()}, fmt.Sprintf("listening on port %d", s.Port()))
			if daemon {
				r = newReporter(env{stdout: io.Discard, stderr: e.stderr}, false)
			}
			// A torrent in error (its files changed under us) is said
			// once and the others go on seeding; only when none is left
			// does seed stop.
			warned := map[*swarm.Torrent]bool{}
			err = runSwarm(cmd.Context(), r, ui, eng, torrents, nil, func(rep *reporter) (bool, error) {
				var last error
				for _, t := range torrents {
					snap := t.Snapshot()
					if snap.State != swarm.StateError {
						continue
					}
					last = fmt.Errorf("%s: %s", termsafe.String(snap.Name), snap.Error)
					if !warned[t] {
						warned[t] = true
						rep.event("error", map[string]any{"name": snap.Name, "info_hash": snap.InfoHash, "error": snap.Error}, "error: "+last.Error())
					}
				}
				if len(warned) == len(torrents) {
					return true, last
				}
				return false, nil
			})
			// What each sent, for a benchmark or a log to read: the
			// last progress line may be a second old.
			for _, t := range torrents {
				t.Stop()
				m := t.Meta()
				r.event("stopped", map[string]any{"name": m.Name, "info_hash": m.InfoHash.HexString(), "uploaded": t.Snapshot().Uploaded}, m.Name+": stopped seeding")
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&daemon, "daemon", false, "no UI and no progress output; attach with shoal watch")
	cmd.Flags().BoolVar(&superSeed, "super-seed", false, "initial seeding the BEP 16 way: reveal pieces one at a time, each only after the last reached another peer, so each is sent about once")
	return cmd
}

// torrentArg is one .torrent to seed, and whether it was found in a
// directory argument rather than named on the command line.
type torrentArg struct {
	path  string
	inDir bool
}

// torrentFiles expands directory arguments into the .torrent files in
// them, sorted.
func torrentFiles(args []string) ([]torrentArg, error) {
	var out []torrentArg
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", a, fileWords(err))
		}
		if !fi.IsDir() {
			out = append(out, torrentArg{path: a})
			continue
		}
		matches, err := filepath.Glob(filepath.Join(a, "*.torrent"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s holds no .torrent files", a)
		}
		sort.Strings(matches)
		for _, m := range matches {
			out = append(out, torrentArg{path: m, inDir: true})
		}
	}
	return out, nil
}

// warn prints one warning line on stderr: something was skipped, and the
// command goes on.
func warn(e env, format string, args ...any) {
	fmt.Fprintln(e.stderr, "shoal: warning:", termsafe.String(strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")))
}
