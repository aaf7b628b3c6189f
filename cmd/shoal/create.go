package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/shoal-torrent/shoal/internal/atomicfile"
	"github.com/shoal-torrent/shoal/internal/termsafe"
	"github.com/shoal-torrent/shoal/piece/meta"
)

func newCreateCmd(e env) *cobra.Command {
	var (
		out       string
		trackers  []string
		webSeeds  []string
		private   bool
		comment   string
		force     bool
		v2, hyb   bool
		pieceSize = sizeValue{zero: "auto"}
	)
	cmd := &cobra.Command{
		Use:   "create PATH",
		Short: "Make a .torrent of a file or directory",
		Long: `Hash a file or directory into a .torrent, using every core.

The torrent is v1 (BEP 3) unless asked otherwise, because every client,
tracker and DHT node understands v1 (shoal itself downloads all three
kinds). --hybrid adds BEP 52 v2 metadata
(per-file SHA-256 merkle trees, with pad files so both views agree): v2
clients join its v2 swarm and everyone else its v1 swarm. --v2 makes a
v2-only torrent, which clients before libtorrent 2.0 cannot read at all.
v2 and hybrid output matches libtorrent 2.0's for the same files and
piece size.

Each --tracker is its own tier, tried in order. --piece-size auto picks the
smallest power of two that keeps the torrent under about 2,000 pieces.
An existing output file is kept unless --force is given.`,
		Example: `  shoal create ~/videos/holiday.mkv
  shoal create ./album --tracker http://tracker.example:6969/announce -o album.torrent
  shoal create ./data --piece-size 1MiB --private --comment "team share"
  shoal create ./iso --web-seed https://mirror.example/iso/
  shoal create ./release --hybrid --tracker udp://tracker.example:6969`,
		Args: exactArgs(1, "one file or directory to share"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := meta.CreateOptions{
				Path: args[0], Trackers: trackers, WebSeeds: webSeeds, Private: private, Comment: comment,
				PieceLength: pieceSize.n, CreatedBy: "shoal/" + version, Now: time.Now(),
			}
			switch {
			case v2 && hyb:
				return usageError{errors.New("--v2 and --hybrid exclude each other: --hybrid already includes v2")}
			case v2:
				opts.Version = meta.VersionV2
			case hyb:
				opts.Version = meta.VersionHybrid
			}
			if pl := pieceSize.n; pl != 0 && (pl < meta.MinCreatePieceLength || pl > meta.MaxCreatePieceLength || pl&(pl-1) != 0) {
				return usageError{fmt.Errorf("--piece-size %s (%s bytes): want a power of two from %s to %s, or auto%s",
					humanize.IBytes(uint64(pl)), humanize.Comma(pl), humanize.IBytes(meta.MinCreatePieceLength),
					humanize.IBytes(meta.MaxCreatePieceLength), nearPieceSizes(pl))}
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			content, err := meta.Scan(args[0])
			var pe *fs.PathError
			if errors.As(err, &pe) && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
				return fmt.Errorf("%s: %s", args[0], fileWords(err))
			} else if err != nil {
				return err
			}
			if out == "" {
				out = content.Name + ".torrent"
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s already exists (use --force to replace it)", out)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("cannot write %s: %s", out, fileWords(err))
			}
			total := content.Total()
			var hashed atomic.Int64
			opts.Progress = &hashed
			bar := startProgress(e, "hashing", total, &hashed)
			t, err := meta.CreateFrom(cmd.Context(), content, opts)
			took := bar.stop()
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := t.Write(&buf); err != nil {
				return err
			}
			if err := writeFileAtomic(out, buf.Bytes()); err != nil {
				return err
			}
			files := len(t.Layout.ShownFiles()) // pad files are not the user's
			fmt.Fprintf(e.stdout, "created %s: %s, %s in %s, %s of %s, hashed in %s (%s/s)\n",
				termsafe.String(out), termsafe.String(t.Name), humanize.IBytes(uint64(total)), plural(files, "file", "files"),
				plural(t.Layout.NumPieces, "piece", "pieces"),
				humanize.IBytes(uint64(t.Layout.PieceLength)), took.Round(time.Millisecond),
				humanize.IBytes(uint64(float64(total)/max(took.Seconds(), 0.001))))
			if t.HasV1 {
				fmt.Fprintf(e.stdout, "info hash %s\n", t.InfoHash.HexString())
			}
			if t.V2 != nil {
				fmt.Fprintf(e.stdout, "info hash v2 %x (truncated %s)\n", t.V2.InfoHash, t.V2.Truncated().HexString())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "where to write the .torrent (default NAME.torrent)")
	f.StringArrayVarP(&trackers, "tracker", "t", nil, "announce URL; repeat for more tiers")
	f.StringArrayVarP(&webSeeds, "web-seed", "w", nil, "BEP 19 web seed URL; may repeat")
	f.Var(&pieceSize, "piece-size", "piece size: a power of two from 16KiB to 16MiB, or auto")
	f.BoolVar(&private, "private", false, "mark private (BEP 27): peers only from trackers")
	f.StringVarP(&comment, "comment", "c", "", "free-text comment stored in the torrent")
	f.BoolVarP(&force, "force", "f", false, "replace an existing output file")
	f.BoolVar(&v2, "v2", false, "make a v2-only torrent (BEP 52); older clients cannot read it")
	f.BoolVar(&hyb, "hybrid", false, "make a hybrid v1+v2 torrent that every client can join")
	// The names other tools give it (libtorrent's piece length,
	// transmission-create's --piecesize) mean --piece-size here too.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "piece-length", "piecesize", "piece-len":
			name = "piece-size"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so an interrupted write never leaves a truncated .torrent. Its
// errors name path, never the temporary file nobody asked for.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot write %s: the directory %s does not exist", path, filepath.Dir(path))
		}
		return fmt.Errorf("cannot write %s: %s", path, fileWords(err))
	}
	return nil
}

// nearPieceSizes suggests the valid piece sizes around a wrong one, as
// they would be typed.
func nearPieceSizes(pl int64) string {
	if pl < meta.MinCreatePieceLength || pl > meta.MaxCreatePieceLength {
		return ""
	}
	unit := func(n int64) string {
		if n >= 1<<20 {
			return fmt.Sprintf("%dMiB", n>>20)
		}
		return fmt.Sprintf("%dKiB", n>>10)
	}
	lo := int64(1) << (63 - bits.LeadingZeros64(uint64(pl)))
	return fmt.Sprintf("; the nearest are %s and %s", unit(lo), unit(2*lo))
}
