package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/piece/piecetest"
)

// A hybrid made by create shows both infohashes and a magnet link with
// both in info, and verifies against both halves, finding the corrupt
// piece.
func TestCreateHybridInfoVerify(t *testing.T) {
	dir, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	code, stdout, stderr := shoal(t, "create", album, "--hybrid", "-o", out, "--piece-size", "16KiB")
	if code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	if !strings.Contains(stdout, "in 3 files") || !strings.Contains(stdout, "info hash v2 ") {
		t.Fatalf("create said %q", stdout)
	}
	code, stdout, _ = shoal(t, "info", "--json", out)
	var js infoJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &js) != nil {
		t.Fatalf("info --json: %d %s", code, stdout)
	}
	if js.Version != "hybrid" || len(js.InfoHashV1) != 40 || len(js.InfoHashV2) != 64 || js.InfoHashV2Truncated != js.InfoHashV2[:40] ||
		!strings.Contains(js.Magnet, "xt=urn:btih:"+js.InfoHashV1) || !strings.Contains(js.Magnet, "xt=urn:btmh:1220"+js.InfoHashV2) ||
		len(js.Files) != 3 || js.TotalSize != 301_234 {
		t.Fatalf("info: %+v", js)
	}
	code, stdout, _ = shoal(t, "info", out)
	for _, want := range []string{"Version:       hybrid", "Info hash v2:  " + js.InfoHashV2, "Truncated v2:  " + js.InfoHashV2Truncated} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("info lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = shoal(t, "verify", out, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "checked by v1 SHA-1 and v2 merkle roots") {
		t.Fatalf("verify: %d %s %s", code, stdout, stderr)
	}
	// The files' bytes, as info says, not the pad files'.
	if want := humanize.IBytes(301_234) + " hashed"; !strings.Contains(stdout, want) {
		t.Fatalf("verify does not say %q:\n%s", want, stdout)
	}
	a := filepath.Join(album, "a.flac")
	data, _ := os.ReadFile(a)
	data[50_000] ^= 1 // piece 3
	os.WriteFile(a, data, 0o644)
	code, stdout, stderr = shoal(t, "verify", out, "--dir", dir)
	oneLineError(t, code, exitIncomplete, stderr)
	if !strings.Contains(stdout, "corrupt pieces: 3\n") {
		t.Fatalf("verify said:\n%s", stdout)
	}
}

// A v2-only torrent: a btmh magnet link, verification by merkle roots,
// and a clear refusal from the commands that would have to download it.
func TestCreateV2Only(t *testing.T) {
	dir, album := content(t)
	out := filepath.Join(t.TempDir(), "album.torrent")
	if code, _, stderr := shoal(t, "create", album, "--v2", "-o", out); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	code, stdout, _ := shoal(t, "info", "--json", out)
	var js infoJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &js) != nil || js.Version != "v2" || js.InfoHashV1 != "" ||
		strings.Contains(js.Magnet, "btih") || !strings.Contains(js.Magnet, "xt=urn:btmh:1220"+js.InfoHashV2) || js.InfoHash != js.InfoHashV2Truncated {
		t.Fatalf("info: %d %+v", code, js)
	}
	code, stdout, _ = shoal(t, "info", js.Magnet)
	if code != 0 || !strings.Contains(stdout, "Info hash v2:  "+js.InfoHashV2) || strings.Contains(stdout, "Info hash: ") {
		t.Fatalf("info of the btmh magnet:\n%s", stdout)
	}
	code, stdout, stderr := shoal(t, "verify", out, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "checked by v2 merkle roots") {
		t.Fatalf("verify: %d %s %s", code, stdout, stderr)
	}
	os.Remove(filepath.Join(album, "b", "c.txt"))
	code, stdout, stderr = shoal(t, "verify", out, "--dir", dir)
	oneLineError(t, code, exitIncomplete, stderr)
	if !strings.Contains(stdout, "1 missing, 0 corrupt") {
		t.Fatalf("verify said:\n%s", stdout)
	}
}

func TestCreateV2AndHybridExclude(t *testing.T) {
	_, album := content(t)
	code, _, stderr := shoal(t, "create", album, "--v2", "--hybrid", "-o", filepath.Join(t.TempDir(), "x.torrent"))
	oneLineError(t, code, exitUsage, stderr)
}

// --piece-length (libtorrent's word) and --piecesize (transmission-create's)
// are --piece-size, not "unknown flag".
func TestCreatePieceSizeAliases(t *testing.T) {
	src := t.TempDir()
	piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "d.bin", Size: 100_000}})
	for _, flag := range []string{"--piece-length", "--piecesize"} {
		out := filepath.Join(t.TempDir(), "d.torrent")
		if code, stdout, stderr := shoal(t, "create", filepath.Join(src, "d.bin"), flag, "32KiB", "-o", out); code != 0 || !strings.Contains(stdout, "4 pieces of 32 KiB") {
			t.Fatalf("%s: %d %s %s", flag, code, stdout, stderr)
		}
	}
}
