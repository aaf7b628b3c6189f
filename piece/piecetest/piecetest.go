// Package piecetest holds helpers for tests across shoal: deterministic
// content that any test (or a fixture made by another tool) can regenerate
// byte for byte, and the conformance suite every piece.Storage runs.
package piecetest

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Content returns n bytes determined only by seed, so fixtures checked into
// testdata/ can keep their .torrent files and regenerate the data.
func Content(seed string, n int64) []byte {
	var s [32]byte
	copy(s[:], seed)
	r := rand.NewChaCha8(s)
	b := make([]byte, n)
	r.Read(b)
	return b
}

// FileSpec names one file of generated content, relative to a root.
type FileSpec struct {
	Path string
	Size int64
}

// WriteFiles writes each spec's Content (seeded by its path) below root.
func WriteFiles(tb testing.TB, root string, files []FileSpec) {
	tb.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, Content(f.Path, f.Size), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
