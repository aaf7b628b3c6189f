package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
)

func newDemoCmd(e env) *cobra.Command {
	var (
		size = sizeValue{n: 128 << 20}
		keep bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show shoal at work on generated data, with no setup",
		Long: `Generate content in a temporary directory, make a torrent of it, verify
it, damage one byte and verify again, printing what happens at each step.
Nothing outside the temporary directory is touched.`,
		Example: `  shoal demo
  shoal demo --size 1GiB --keep`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
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

			content := filepath.Join(work, "content", "demo-album")
			fmt.Fprintf(w, "1. generating %s of content in %s\n", humanize.IBytes(uint64(size.n)), content)
			if err := generateContent(content, size.n); err != nil {
				return err
			}

			fmt.Fprintln(w, "2. creating a torrent of it (shoal create)")
			var hashed atomic.Int64
			bar := startProgress(e, "hashing", size.n, &hashed)
			t, err := meta.Create(ctx, meta.CreateOptions{
				Path: content, Trackers: []string{"http://127.0.0.1:6969/announce"}, CreatedBy: "shoal/" + version,
				Comment: "made by shoal demo", Now: time.Now(), Progress: &hashed,
			})
			took := bar.stop()
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := t.Write(&buf); err != nil {
				return err
			}
			torrentPath := filepath.Join(work, "demo-album.torrent")
			if err := os.WriteFile(torrentPath, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(w, "   hashed %s in %s (%s/s) into %s\n\n", humanize.IBytes(uint64(size.n)), took.Round(time.Millisecond),
				humanize.IBytes(uint64(float64(size.n)/max(took.Seconds(), 0.001))), torrentPath)

			fmt.Fprintln(w, "3. what the torrent says (shoal info)")
			loaded, err := meta.Load(torrentPath)
			if err != nil {
				return err
			}
			info := infoJSON{Name: loaded.Name, InfoHash: loaded.InfoHash.HexString(), TotalSize: loaded.Layout.Total,
				PieceLength: loaded.Layout.PieceLength, Pieces: loaded.Layout.NumPieces, Trackers: loaded.Trackers,
				Comment: loaded.Comment, CreatedBy: loaded.CreatedBy, Magnet: loaded.Magnet()}
			for _, f := range loaded.Layout.Files {
				info.Files = append(info.Files, fileJSON{Path: filepath.Join(f.Path...), Length: f.Length})
			}
			printInfo(w, &info)

			verify := func(step string) error {
				fmt.Fprintf(w, "\n%s\n", step)
				st, err := piece.OpenFileStorage(loaded.Layout, piece.FileStorageConfig{Dir: filepath.Dir(content)})
				if err != nil {
					return err
				}
				defer st.Close()
				var n atomic.Int64
				bar := startProgress(e, "verifying", loaded.Layout.Total, &n)
				v, err := piece.Verify(ctx, st, loaded.Layout, loaded.Hashes, piece.HashOptions{Progress: &n})
				took := bar.stop()
				if err != nil {
					return err
				}
				return reportVerify(e, loaded, filepath.Dir(content), v, took)
			}
			if err := verify("4. verifying the data against the torrent (shoal verify)"); err != nil {
				return err
			}

			victim := filepath.Join(content, "track-02.flac")
			if err := flipByte(victim, 100_000); err != nil {
				return err
			}
			err = verify(fmt.Sprintf("5. flipping one byte of %s and verifying again", filepath.Base(victim)))
			var ec exitCodeError
			if !errors.As(err, &ec) {
				return fmt.Errorf("the damaged byte was not caught: %v", err)
			}
			fmt.Fprintf(w, "   caught: %s\n\n", ec.msg)
			fmt.Fprintln(w, "done: every piece of shoal's foundation checked out. Try 'shoal help'.")
			return nil
		},
	}
	cmd.Flags().Var(&size, "size", "how much content to generate")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory")
	return cmd
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

func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x01
	_, err = f.WriteAt(b, off)
	return err
}
