package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// A v2 torrent whose piece layer does not hash to its file's root is
// refused with one line before anything is read.
func TestVerifyRefusesHostileV2(t *testing.T) {
	dir, album := content(t)
	good := filepath.Join(t.TempDir(), "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "--v2", "-o", good, "--piece-size", "16KiB"); code != 0 {
		t.Fatal(stderr)
	}
	data, _ := os.ReadFile(good)
	var m map[string]any
	if err := bencode.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for root, layer := range m["piece layers"].(map[string]any) {
		l := []byte(layer.(string))
		l[len(l)-1] ^= 1
		m["piece layers"].(map[string]any)[root] = string(l)
	}
	bad, _ := bencode.Marshal(m)
	evil := filepath.Join(t.TempDir(), "evil.torrent")
	os.WriteFile(evil, bad, 0o644)
	for _, cmd := range []string{"verify", "info"} {
		code, _, stderr := shoal(t, cmd, evil, "--dir", dir)
		if cmd == "info" {
			code, _, stderr = shoal(t, cmd, evil)
		}
		oneLineError(t, code, exitError, stderr)
		if !strings.Contains(stderr, "does not hash to its pieces root") {
			t.Fatalf("%s: %s", cmd, stderr)
		}
	}
}
