package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
)

func newVerifyCmd(e env) *cobra.Command {
	var (
		dir     string
		workers int
	)
	cmd := &cobra.Command{
		Use:   "verify TORRENT --dir DIR",
		Short: "Check downloaded data against a torrent's hashes",
		Long: `Hash the data of a torrent and report complete, missing and corrupt pieces
and how complete each file is.

DIR is the save path, as in other clients: it holds a single-file torrent's
file, or a multi-file torrent's top folder. Exit status is 0 only when every
piece is present and correct, 3 when some are missing or corrupt.

v2 torrents are checked by their BEP 52 merkle roots; hybrids against both
their v1 and v2 hashes in one read, so a piece is good only when both
halves of the torrent agree on it.`,
		Example: `  shoal verify album.torrent --dir ~/Downloads
  shoal verify --dir /srv/seed big.torrent --workers 1`,
		Args: exactArgs(1, "one .torrent file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if workers < 0 {
				return usageError{fmt.Errorf("--workers %d: want a positive number of hashing workers, or 0 for one per core", workers)}
			}
			t, err := meta.LoadWith(args[0], meta.ParseOptions{AllowV2Only: true})
			if err != nil {
				return torrentError(args[0], err)
			}
			if !t.HasV1 && t.V2.PieceHashes == nil {
				return fmt.Errorf("%s: the torrent has no piece layers, so its v2 data cannot be checked", args[0])
			}
			st, err := piece.OpenFileStorage(t.Layout, piece.FileStorageConfig{Dir: dir})
			if err != nil {
				return err
			}
			defer st.Close()
			var hashed atomic.Int64
			bar := startProgress(e, "verifying", t.Layout.DataTotal, &hashed)
			opts := piece.HashOptions{Workers: workers, Progress: &hashed}
			var v *piece.Verification
			switch {
			case t.V2 == nil || t.V2.PieceHashes == nil:
				v, err = piece.Verify(cmd.Context(), st, t.Layout, t.Hashes, opts)
			case t.HasV1:
				v, err = piece.VerifyHybrid(cmd.Context(), st, t.Layout, t.Hashes, t.V2.PieceHashes, opts)
			default:
				v, err = piece.VerifyV2(cmd.Context(), st, t.Layout, t.V2.PieceHashes, opts)
			}
			took := bar.stop()
			if err != nil {
				return err
			}
			stats, _ := st.Stats() // only for a note on sizes: without it, none
			return reportVerify(e, t, dir, v, stats, took)
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "d", ".", "save path holding the torrent's file or top folder")
	cmd.Flags().IntVar(&workers, "workers", 0, "hashing workers (default: one per core)")
	return cmd
}

// reportVerify prints the verdict; stats, when known, are the files on
// disk, to say where one is longer than the torrent (the extra bytes are
// none of its data, and every hash may still be right).
func reportVerify(e env, t *meta.Torrent, dir string, v *piece.Verification, stats []piece.FileStat, took time.Duration) error {
	l := t.Layout
	w := e.stdout
	name := termsafe.String(t.Name) // from the torrent: may hold escapes
	by := "v1 SHA-1"
	switch {
	case t.V2 == nil || t.V2.PieceHashes == nil:
	case t.HasV1:
		by = "v1 SHA-1 and v2 merkle roots"
	default:
		by = "v2 merkle roots"
	}
	fmt.Fprintf(w, "%s: %d of %s good (%.1f%%), %d missing, %d corrupt; %s hashed in %s, checked by %s\n",
		name, v.Have.Count(), plural(l.NumPieces, "piece", "pieces"), 100*float64(v.Have.Count())/float64(l.NumPieces),
		v.Missing.Count(), v.Corrupt.Count(), humanize.IBytes(uint64(l.DataTotal)), took.Round(time.Millisecond), by)
	if v.Corrupt.Count() > 0 {
		fmt.Fprintf(w, "corrupt pieces: %s\n", listPieces(v.Corrupt, 20))
	}
	for _, i := range l.ShownFiles() {
		f := l.Files[i]
		note := ""
		if i < len(stats) && stats[i].Exists && stats[i].Size > f.Length {
			note = fmt.Sprintf("  (%s longer on disk than in the torrent)", humanize.IBytes(uint64(stats[i].Size-f.Length)))
		}
		fmt.Fprintf(w, "  %6.1f%%  %10s  %s%s\n", 100*l.FileProgress(i, v.Have), humanize.IBytes(uint64(f.Length)), termsafe.String(strings.Join(f.Path, "/")), note)
	}
	if v.Have.Full() {
		fmt.Fprintln(w, "complete")
		return nil
	}
	msg := fmt.Sprintf("%s is incomplete: %s missing, %d corrupt", name, plural(v.Missing.Count(), "piece", "pieces"), v.Corrupt.Count())
	if v.Missing.Full() {
		msg += fmt.Sprintf(" (nothing of it found in %s; --dir is the folder that contains %s)", termsafe.String(dir), name)
	}
	return exitCodeError{code: exitIncomplete, msg: msg}
}

// listPieces formats up to limit piece indices, with ranges collapsed.
func listPieces(b *piece.Bitfield, limit int) string {
	var parts []string
	for i := b.NextSet(0); i >= 0 && len(parts) < limit; {
		j := i
		for b.Has(j + 1) {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		} else {
			parts = append(parts, fmt.Sprint(i))
		}
		i = b.NextSet(j + 1)
	}
	s := strings.Join(parts, ", ")
	if len(parts) == limit {
		s += ", ..."
	}
	return s
}
