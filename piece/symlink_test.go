package piece_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

func linkLayout(t *testing.T, target ...string) *piece.Layout {
	l, err := piece.NewLayout(16, []piece.File{
		{Path: []string{"t", "a"}, Length: 16},
		{Path: []string{"t", "d", "link"}, Symlink: target},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Links are made relative to their folder, replaced when they point
// elsewhere, and never where the user's own file stands.
func TestCreateFilesMakesSymlinks(t *testing.T) {
	dir := t.TempDir()
	l := linkLayout(t, "t", "a")
	s, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: dir, Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	linkPath := filepath.Join(dir, "t", "d", "link")
	if err := os.MkdirAll(filepath.Dir(linkPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", linkPath); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFiles(); err != nil {
		t.Fatal(err)
	}
	if text, err := os.Readlink(linkPath); err != nil || text != filepath.Join("..", "a") {
		t.Fatalf("link text %q, %v", text, err)
	}
	if err := s.CreateFiles(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	os.Remove(linkPath)
	os.WriteFile(linkPath, []byte("mine"), 0o644)
	if err := s.CreateFiles(); err == nil {
		t.Fatal("replaced a user's file with a link")
	}
	if b, _ := os.ReadFile(linkPath); string(b) != "mine" {
		t.Fatalf("user's file now %q", b)
	}
}

// The meta package refuses escaping targets; storage refuses them again,
// as it does escaping paths.
func TestOpenFileStorageRefusesEscapingSymlinks(t *testing.T) {
	for _, target := range [][]string{{"..", "etc"}, {"t", "..", "..", "x"}, {}} {
		_, err := piece.OpenFileStorage(linkLayout(t, target...), piece.FileStorageConfig{Dir: t.TempDir(), Writable: true})
		if !errors.Is(err, piece.ErrUnsafePath) {
			t.Errorf("target %q: %v", target, err)
		}
	}
}
