package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm"
	"github.com/shoal-torrent/shoal/tracker"
)

func newDemoCmd(e env) *cobra.Command {
	var (
		size     = sizeValue{n: 64 << 20}
		rate     = sizeValue{n: 4 << 20}
		leechers int
		keep     bool
		noTUI    bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a swarm form on loopback, with no setup",
		Long: `Start a tracker, generate content and a torrent, then a seeder and several
leechers in this process, all on 127.0.0.1, with upload limits like real
peers' so there is something to watch: pieces spreading rarest-first,
peers choking and unchoking each other, rates, completion.

On a terminal the UI opens (q quits). Otherwise a short account is printed
and the demo exits 0 once every leecher is complete and byte-identical.
Nothing outside a temporary directory is touched.`,
		Example: `  shoal demo
  shoal demo --leechers 8 --size 256MiB --rate 8MiB
  shoal demo --no-tui`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if leechers < 1 || leechers > 32 {
				return usageError{fmt.Errorf("--leechers %d: want 1 to 32", leechers)}
			}
			return runDemo(cmd.Context(), e, size.n, rate.n, leechers, keep, noTUI || !e.tty)
		},
	}
	cmd.Flags().Var(&size, "size", "how much content to generate")
	cmd.Flags().Var(&rate, "rate", "the seeder's upload limit per second (leechers get half)")
	cmd.Flags().IntVar(&leechers, "leechers", 4, "how many leechers")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory")
	cmd.Flags().BoolVar(&noTUI, "no-tui", false, "print an account instead of opening the UI")
	return cmd
}

func runDemo(ctx context.Context, e env, size, rate int64, leechers int, keep, text bool) error {
	w := e.stdout
	work, err := os.MkdirTemp("", "shoal-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(w, "kept %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	log := slog.New(slog.DiscardHandler)
	if f, err := os.Create(filepath.Join(work, "shoal.log")); err == nil {
		defer f.Close()
		log = slog.New(slog.NewTextHandler(f, nil))
	}

	tcfg := tracker.DefaultConfig()
	tcfg.HTTPAddr, tcfg.UDPAddr, tcfg.Interval, tcfg.MinInterval = "127.0.0.1:0", "", time.Minute, 30*time.Second
	tcfg.AnnounceRate, tcfg.AnnounceBurst, tcfg.Logger = 1000, 1000, log
	tr, err := tracker.New(tcfg, tracker.NewMemoryStore(tracker.DefaultMemoryConfig()))
	if err != nil {
		return err
	}
	if err := tr.Start(); err != nil {
		return err
	}
	defer tr.Close()
	announce := fmt.Sprintf("http://%s/announce", tr.HTTPAddr())

	src := filepath.Join(work, "seeder")
	if text {
		fmt.Fprintf(w, "tracker on %s; generating %s of content\n", announce, humanize.IBytes(uint64(size)))
	}
	if err := generateContent(filepath.Join(src, "demo-album"), size); err != nil {
		return err
	}
	m, err := meta.Create(ctx, meta.CreateOptions{Path: filepath.Join(src, "demo-album"), Trackers: []string{announce},
		CreatedBy: "shoal/" + version, Now: time.Now(), PieceLength: max(meta.AutoPieceLength(size)/4, meta.MinCreatePieceLength)})
	if err != nil {
		return err
	}

	var torrents []*swarm.Torrent
	var labels, dirs []string
	start := func(label, dir string, up int64) error {
		cfg := swarm.DefaultSessionConfig()
		cfg.ListenAddr, cfg.UploadLimit, cfg.Logger = "127.0.0.1:0", up, log.With("peer", label)
		cfg.Version = strings.TrimPrefix(version, "v")
		s, err := swarm.NewSession(cfg)
		if err != nil {
			return err
		}
		tc := swarm.DefaultTorrentConfig(dir)
		tc.MaxPeersPerIP = tc.MaxPeers // every demo peer is on 127.0.0.1
		t, err := s.Add(m, tc)
		if err != nil {
			s.Close()
			return err
		}
		go func() { <-t.Done(); s.Close() }()
		torrents, labels, dirs = append(torrents, t), append(labels, label), append(dirs, dir)
		return nil
	}
	if err := start("seeder", src, rate); err != nil {
		return err
	}
	for i := 1; i <= leechers; i++ {
		if err := start(fmt.Sprintf("leecher %d", i), filepath.Join(work, fmt.Sprintf("leecher-%d", i)), rate/2); err != nil {
			return err
		}
	}
	defer func() {
		for _, t := range torrents {
			t.Stop()
		}
	}()
	if text {
		fmt.Fprintf(w, "%s in %s of %s; 1 seeder (up %s/s) and %s (up %s/s each), meeting through the tracker\n",
			m.Name, plural(m.Layout.NumPieces, "piece", "pieces"), humanize.IBytes(uint64(m.Layout.PieceLength)), humanize.IBytes(uint64(rate)),
			plural(leechers, "leecher", "leechers"), humanize.IBytes(uint64(rate/2)))
		return demoAccount(ctx, e, m, torrents, labels, dirs)
	}
	return runUI(ctx, newLiveEngine(labels, torrents), false) // six leechers finishing at once: no bell
}

// demoAccount prints how the swarm goes until every leecher is complete,
// then checks their files against the seeder's.
func demoAccount(ctx context.Context, e env, m *meta.Torrent, torrents []*swarm.Torrent, labels, dirs []string) error {
	w := e.stdout
	began := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	timeout := time.After(10 * time.Minute)
	for {
		done := 0
		var parts []string
		for i, t := range torrents[1:] {
			s := t.Snapshot()
			if isClosed(t.Completed()) {
				done++
			}
			parts = append(parts, fmt.Sprintf("%s %3.0f%% ↓%s/s ↑%s/s", labels[i+1], s.Progress*100,
				humanize.IBytes(uint64(s.DownRate)), humanize.IBytes(uint64(s.UpRate))))
		}
		if done == len(torrents)-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return errors.New("the swarm did not complete within 10 minutes")
		case <-tick.C:
			fmt.Fprintf(w, "%4.0fs  %s\n", time.Since(began).Seconds(), strings.Join(parts, " | "))
		}
	}
	fmt.Fprintf(w, "every leecher completed in %s\n", time.Since(began).Round(100*time.Millisecond))
	seed := torrents[0].Snapshot()
	fmt.Fprintf(w, "the seeder uploaded %s (%.2f× the content); the leechers traded the rest among themselves\n",
		humanize.IBytes(uint64(seed.Uploaded)), float64(seed.Uploaded)/float64(m.Layout.DataTotal))
	for i, dir := range dirs[1:] {
		for _, f := range m.Layout.Files {
			rel := filepath.Join(f.Path...)
			a, err1 := os.ReadFile(filepath.Join(dirs[0], rel))
			b, err2 := os.ReadFile(filepath.Join(dir, rel))
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			if !bytes.Equal(a, b) {
				return fmt.Errorf("%s: %s differs from the seeder's", labels[i+1], rel)
			}
		}
	}
	if len(dirs) == 2 {
		fmt.Fprintln(w, "the leecher holds a byte-identical copy")
	} else {
		fmt.Fprintf(w, "all %d leechers hold byte-identical copies\n", len(dirs)-1)
	}
	return nil
}

// generateContent writes a small album of pseudo-random files totalling
// about size bytes, with uneven sizes so pieces straddle files.
func generateContent(dir string, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{'s', 'h', 'o', 'a', 'l'})
	names := []string{"cover.jpg", "track-01.flac", "track-02.flac", "track-03.flac", "notes.txt"}
	shares := []int64{2, 30, 35, 32, 1}
	buf := make([]byte, 1<<20)
	for i, name := range names {
		n := size * shares[i] / 100
		if i == len(names)-1 {
			n = size - size*99/100 + 7
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		for left := n; left > 0; {
			chunk := buf[:min(left, int64(len(buf)))]
			r.Read(chunk)
			if _, err := f.Write(chunk); err != nil {
				f.Close()
				return err
			}
			left -= int64(len(chunk))
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
