package main

import (
	"strings"
	"testing"
)

// TestDaemonPerTorrentLimits: transmission-remote -t ID -u/-d and shoal
// set --up-limit/--down-limit set a torrent's own limits; torrent-get
// reports them, and -U/0 lift them.
func TestDaemonPerTorrentLimits(t *testing.T) {
	bin := transmissionRemote(t)
	src, torrent := seedFixture(t, 100<<10, "32KiB")
	addr := startDaemon(t, src, t.TempDir())
	tr(t, bin, addr, "-a", torrent)
	type limits struct {
		DownLimit   int64 `json:"downloadLimit"`
		DownLimited bool  `json:"downloadLimited"`
		UpLimit     int64 `json:"uploadLimit"`
		UpLimited   bool  `json:"uploadLimited"`
	}
	get := func() limits {
		var out struct{ Torrents []limits }
		if err := (&remoteFlags{rpc: addr}).call(t.Context(), "torrent-get",
			map[string]any{"ids": []int{1}, "fields": []string{"downloadLimit", "downloadLimited", "uploadLimit", "uploadLimited"}}, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Torrents) != 1 {
			t.Fatalf("torrent-get: %+v", out)
		}
		return out.Torrents[0]
	}
	tr(t, bin, addr, "-t", "1", "-u", "256")
	if l := get(); l != (limits{UpLimit: 256, UpLimited: true}) {
		t.Fatalf("after -t 1 -u 256: %+v", l)
	}
	if out := tr(t, bin, addr, "-t", "1", "-i"); !strings.Contains(out, "Upload Limit: 256 kB/s") {
		t.Fatalf("-i after -u 256:\n%s", out)
	}
	if code, _, stderr := shoal(t, "set", "1", "--down-limit", "1MiB", "--rpc", addr); code != 0 {
		t.Fatalf("set --down-limit: %s", stderr)
	}
	if l := get(); l != (limits{DownLimit: 1049, DownLimited: true, UpLimit: 256, UpLimited: true}) {
		t.Fatalf("after set --down-limit 1MiB: %+v", l)
	}
	tr(t, bin, addr, "-t", "1", "-U")
	if code, _, stderr := shoal(t, "set", "1", "--down-limit", "0", "--rpc", addr); code != 0 {
		t.Fatalf("set --down-limit 0: %s", stderr)
	}
	if l := get(); l != (limits{}) {
		t.Fatalf("after -U and --down-limit 0: %+v", l)
	}
	code, _, stderr := shoal(t, "set", "1", "--up-limit", "fast", "--rpc", addr)
	oneLineError(t, code, 2, stderr)
}
