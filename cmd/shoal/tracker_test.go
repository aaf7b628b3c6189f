package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/tracker"
)

// TestSwarmThroughShoalTracker: a seeder and a leecher that know nothing
// of each other meet through `shoal tracker`, over HTTP and over UDP.
func TestSwarmThroughShoalTracker(t *testing.T) {
	tr := startShoalUntil(t, regexp.MustCompile(`udp://127\.0\.0\.1:(\d+)`), "tracker", "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--interval", "1m")
	httpTr := startShoalUntil(t, regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/announce`), "tracker", "--http", "127.0.0.1:0", "--udp", "")
	var httpHash [20]byte
	for _, announce := range []string{
		"udp://127.0.0.1:" + tr.port + "/announce",
		"http://127.0.0.1:" + httpTr.port + "/announce",
	} {
		t.Run(strings.SplitN(announce, ":", 2)[0], func(t *testing.T) {
			src := t.TempDir()
			piecetest.WriteFiles(t, src, []piecetest.FileSpec{{Path: "show/ep1.mkv", Size: 2 << 20}, {Path: "show/ep2.mkv", Size: 1 << 20}})
			tor := filepath.Join(t.TempDir(), "show.torrent")
			if code, _, stderr := shoal(t, "create", filepath.Join(src, "show"), "-o", tor, "--tracker", announce); code != 0 {
				t.Fatal(stderr)
			}
			m, err := meta.Load(tor)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(announce, "http") {
				httpHash = m.InfoHash
			}
			seeder := startShoal(t, "seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir())
			dl := t.TempDir()
			code, stdout, stderr := shoal(t, "get", tor, "--dir", dl, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
			if code != 0 || !strings.Contains(stdout, "download complete") {
				t.Fatalf("get through %s: %d\n%s\n%s", announce, code, stdout, stderr)
			}
			if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
				t.Fatalf("data does not verify:\n%s", out)
			}
			seeder.stop()
		})
	}
	// Both peers left (stopped), but the tracker counted the download:
	// the leecher announced completed before stopped.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%s/scrape?info_hash=%s", httpTr.port, url.QueryEscape(string(httpHash[:]))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "10:downloadedi1e") {
		t.Fatalf("scrape after the download: %q", body)
	}
	resp, err = http.Get("http://127.0.0.1:" + httpTr.port + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st tracker.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.UptimeSeconds < 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestTrackerBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tracker.json")
	os.WriteFile(cfg, []byte(`{"http": "127.0.0.1:0", "bogus": 1}`), 0o600)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"tracker", "--store", "mysql://x"}, exitUsage},
		{[]string{"tracker", "--http", "", "--udp", ""}, exitUsage},
		{[]string{"tracker", "--allowlist", "a", "--denylist", "b"}, exitUsage},
		{[]string{"tracker", "--private"}, exitUsage},
		{[]string{"tracker", "--ip-torrent-rate", "-1"}, exitUsage},
		{[]string{"tracker", "--ip-rate", "2", "--ip-burst", "0"}, exitUsage},
		{[]string{"tracker", "--config", cfg}, exitError},
		{[]string{"tracker", "--config", filepath.Join(t.TempDir(), "none.json")}, exitError},
		{[]string{"tracker", "--http", "127.0.0.1:0", "--udp", "", "--allowlist", filepath.Join(t.TempDir(), "missing")}, exitError},
	} {
		code, _, stderr := shoal(t, c.args...)
		oneLineError(t, code, c.code, stderr)
	}
}

// TestTrackerDefaultFlagsServeBusyClient: `shoal tracker` with its
// default limits serves a client that starts 200 torrents at once.
func TestTrackerDefaultFlagsServeBusyClient(t *testing.T) {
	tr := startShoalUntil(t, regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/announce`), "tracker", "--http", "127.0.0.1:0", "--udp", "")
	for i := range 200 {
		u := fmt.Sprintf("http://127.0.0.1:%s/announce?info_hash=%s&peer_id=-AA0001-busyclient01&port=6881&left=1&event=started",
			tr.port, url.QueryEscape(fmt.Sprintf("busy-client-torr%04d", i)))
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "8:interval") {
			t.Fatalf("announce of torrent %d refused: %q", i, body)
		}
	}
}
