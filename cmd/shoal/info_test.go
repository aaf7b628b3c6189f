package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// writeTorrent writes a hand-made .torrent, with a trailing newline as
// some tools leave, and returns its path.
func writeTorrent(t *testing.T, info, top map[string]any) string {
	t.Helper()
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	top["info"] = bencode.Bytes(infoBytes)
	data, err := bencode.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.torrent")
	if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// info loads the torrents other clients load and says what it changed.
func TestInfoShowsWhatWasMadeSafe(t *testing.T) {
	files := []any{
		map[string]any{"length": int64(8), "path": []string{"bar.txt"}},
		map[string]any{"length": int64(8), "path": []string{"bar.txt"}},
		map[string]any{"length": int64(0), "path": []string{"link"}, "attr": "l", "symlink path": []string{"bar.txt"}},
	}
	p := writeTorrent(t, map[string]any{"name": "t", "piece length": int64(16), "pieces": strings.Repeat("x", 20), "files": files},
		map[string]any{"url-list": []any{int64(-20)}, "comment": int64(3)})
	code, stdout, stderr := shoal(t, "info", p)
	if code != 0 {
		t.Fatalf("info: %d %s", code, stderr)
	}
	for _, want := range []string{"Warnings:", "ignored 1 byte after the end", "url-list", "ignored comment", `"bar.txt" saved as "bar.1.txt"`, "t/bar.1.txt", "t/link -> t/bar.txt"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, stdout)
		}
	}
}
