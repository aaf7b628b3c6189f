package piece_test

import (
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// hashesOf returns the concatenated piece hashes of data.
func hashesOf(l *piece.Layout, data []byte) []byte {
	var out []byte
	for i := 0; i < l.NumPieces; i++ {
		s := sha1.Sum(data[l.PieceOffset(i) : l.PieceOffset(i)+l.PieceSize(i)])
		out = append(out, s[:]...)
	}
	return out
}

func TestVerifySortsPieces(t *testing.T) {
	dir := t.TempDir()
	files := []piecetest.FileSpec{{Path: "t/a", Size: 40 << 10}, {Path: "t/b", Size: 20 << 10}, {Path: "t/c", Size: 40 << 10}}
	piecetest.WriteFiles(t, dir, files)
	l, err := piece.NewLayout(16<<10, []piece.File{
		{Path: []string{"t", "a"}, Length: 40 << 10}, {Path: []string{"t", "b"}, Length: 20 << 10}, {Path: []string{"t", "c"}, Length: 40 << 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range files {
		all = append(all, piecetest.Content(f.Path, f.Size)...)
	}
	hashes := hashesOf(l, all)

	// Corrupt one byte of piece 1; make c short (pieces 5 and 6: c covers
	// bytes 60K..100K, truncated to 20K keeps 60K..80K); remove nothing.
	a := filepath.Join(dir, "t", "a")
	data, _ := os.ReadFile(a)
	data[20<<10] ^= 1
	os.WriteFile(a, data, 0o644)
	os.Truncate(filepath.Join(dir, "t", "c"), 20<<10)

	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := piece.Verify(context.Background(), s, l, hashes, piece.HashOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := bits(v.Have); got != "[0 2 3 4]" {
		t.Errorf("have %s", got)
	}
	if got := bits(v.Corrupt); got != "[1]" {
		t.Errorf("corrupt %s", got)
	}
	if got := bits(v.Missing); got != "[5 6]" {
		t.Errorf("missing %s", got)
	}
}

func TestVerifyCallsSparseZerosMissing(t *testing.T) {
	l, _ := piece.NewLayout(16, []piece.File{{Path: []string{"a"}, Length: 32}})
	data := piecetest.Content("x", 32)
	s := piece.NewMemStorage(l)
	s.WriteAt(data[:16], 0)
	v, err := piece.Verify(context.Background(), s, l, hashesOf(l, data), piece.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bits(v.Have) != "[0]" || bits(v.Missing) != "[1]" || v.Corrupt.Count() != 0 {
		t.Fatalf("have %s missing %s corrupt %s", bits(v.Have), bits(v.Missing), bits(v.Corrupt))
	}
}

func TestVerifyOnlyChecksRequestedPieces(t *testing.T) {
	l, _ := piece.NewLayout(16, []piece.File{{Path: []string{"a"}, Length: 64}})
	data := piecetest.Content("only", 64)
	s := piece.NewMemStorage(l)
	s.WriteAt(data, 0)
	only := piece.NewBitfield(4)
	only.Set(2)
	v, err := piece.Verify(context.Background(), s, l, hashesOf(l, data), piece.HashOptions{Only: only})
	if err != nil {
		t.Fatal(err)
	}
	if bits(v.Have) != "[2]" || v.Missing.Count()+v.Corrupt.Count() != 0 {
		t.Fatalf("have %s", bits(v.Have))
	}
}

func bits(b *piece.Bitfield) string {
	var s []int
	for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) {
		s = append(s, i)
	}
	return fmt.Sprint(s)
}

// BenchmarkHash compares shoal's hashing pool with plain crypto/sha1 on the
// same in-memory data: per worker it should reach >= 90% of sha1 alone, and
// grow with workers up to the core count.
func BenchmarkHash(b *testing.B) {
	const size = 64 << 20
	l, _ := piece.NewLayout(1<<20, []piece.File{{Path: []string{"a"}, Length: size}})
	s := piece.NewMemStorage(l)
	s.WriteAt(piecetest.Content("bench", size), 0)
	b.Run("crypto-sha1-1core", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			for i := 0; i < l.NumPieces; i++ {
				sha1.Sum(s.Bytes()[l.PieceOffset(i) : l.PieceOffset(i)+l.PieceSize(i)])
			}
		}
	})
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("shoal-workers-%d", w), func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if _, err := piece.HashPieces(context.Background(), s, l, piece.HashOptions{Workers: w}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Verify runs at every start over every piece; on a torrent of millions
// of pieces a fat per-piece result (a hash, an error and flags, 40 bytes)
// would cost more than everything else the torrent keeps.
func TestVerifyCostsLittlePerPiece(t *testing.T) {
	const n = 200_000
	l, err := piece.NewLayout(16, []piece.File{{Path: []string{"f"}, Length: 16 * n}})
	if err != nil {
		t.Fatal(err)
	}
	st := piece.NewMemStorage(l)
	hashes := make([]byte, n*piece.HashSize)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := piece.Verify(context.Background(), st, l, hashes, piece.HashOptions{Workers: 2})
	runtime.ReadMemStats(&after)
	if err != nil || v.Missing.Count() != n {
		t.Fatalf("verify: %v", err)
	}
	if per := float64(after.TotalAlloc-before.TotalAlloc) / n; per > 4 {
		t.Fatalf("verify allocated %.1f bytes per piece, want at most 4", per)
	}
}
