package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/shoal-torrent/shoal/swarm"
)

// evil is what a hostile torrent puts in every text field: an OSC 52
// clipboard write, then a newline and a line that looks like shoal's own.
const evil = "x\x1b]52;c;cHduZWQ=\x07\nshoal: FORGED\u009b"

// terminalSafe fails the test when out holds a byte a terminal would act
// on (anything but printable text and line ends) or a forged line.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			t.Fatalf("%s: control character %U at %d in:\n%q", what, r, i, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "shoal: FORGED") {
			t.Fatalf("%s: forged line in:\n%s", what, out)
		}
	}
}

func evilTorrent(t *testing.T) string {
	t.Helper()
	info, err := bencode.Marshal(map[string]any{"name": evil, "piece length": 16384, "pieces": strings.Repeat("a", 20),
		"files": []any{map[string]any{"length": 10, "path": []string{evil, evil + ".txt"}}}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := bencode.Marshal(map[string]any{"info": bencode.Bytes(info), "comment": evil, "created by": evil,
		"announce": "http://127.0.0.1:1/" + evil, "url-list": []string{"http://127.0.0.1:1/" + evil}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "evil.torrent")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInfoAndVerifyEscapeTorrentText(t *testing.T) {
	tor := evilTorrent(t)
	code, stdout, stderr := shoal(t, "info", tor)
	if code != 0 {
		t.Fatalf("info: %d %s", code, stderr)
	}
	terminalSafe(t, "info", stdout+stderr)
	for _, want := range []string{`Name:        x\x1b]52;c;cHduZWQ=\x07\x0ashoal: FORGED\u009b`, "Comment:", "Created by:", "tier 1: http://127.0.0.1:1/x", "Web seeds:"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("info lacks %q:\n%s", want, stdout)
		}
	}
	// JSON output stays JSON, escaped by the encoder, not by termsafe.
	code, stdout, _ = shoal(t, "info", "--json", tor)
	if code != 0 || !strings.Contains(stdout, `"name": "x\u001b]52;c;cHduZWQ=\u0007\nshoal: FORGED`) {
		t.Fatalf("info --json: %s", stdout)
	}
	terminalSafe(t, "info --json", stdout)

	code, stdout, stderr = shoal(t, "verify", tor, "--dir", t.TempDir())
	if code != exitIncomplete || !strings.Contains(stderr, `x\x1b]52`) {
		t.Fatalf("verify: %d\n%s\n%s", code, stdout, stderr)
	}
	terminalSafe(t, "verify", stdout+stderr)
}

func TestInfoEscapesMagnetName(t *testing.T) {
	link := "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=" + url.QueryEscape(evil) +
		"&tr=" + url.QueryEscape("http://127.0.0.1:1/"+evil)
	code, stdout, stderr := shoal(t, "info", link)
	if code != 0 || !strings.Contains(stdout, `x\x1b]52`) {
		t.Fatalf("info: %d\n%s\n%s", code, stdout, stderr)
	}
	terminalSafe(t, "info magnet", stdout+stderr)
}

// get and seed print events and progress lines built from the torrent's
// name and the engine's error text.
func TestReporterEscapesTorrentText(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(env{stdout: &out, stderr: &out}, false)
	r.event("started", nil, evil+": 1 MiB, saving to /tmp")
	r.event("complete", nil, stoppedText(evil, true, false))
	r.progress([]*swarm.Snapshot{{Name: evil, State: swarm.StateError, Error: "write " + evil + ": disk full",
		Trackers: []swarm.TrackerSnapshot{{URL: "http://" + evil, LastError: evil}}}}, time.Unix(1e9, 0))
	terminalSafe(t, "reporter", out.String())
	if got := strings.Count(out.String(), "\n"); got != 4 {
		t.Fatalf("%d lines, want 4:\n%s", got, out.String())
	}
}

func TestReporterJSONEscapesC1(t *testing.T) {
	var out bytes.Buffer
	r := newReporter(env{stdout: &out, stderr: &out}, true)
	r.event("started", map[string]any{"name": evil}, "")
	r.progress([]*swarm.Snapshot{{Name: evil, State: swarm.StateDownloading}}, time.Unix(1e9, 0))
	terminalSafe(t, "reporter --json", out.String())
	var ev map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &ev); err != nil || ev["name"] != evil {
		t.Fatalf("event does not decode to the name: %v %q", err, ev["name"])
	}
}

// Files downloaded from a hostile torrent keep their names; sharing them
// again must not replay the escapes.
func TestCreateEscapesFileNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), evil)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := shoal(t, "create", dir, "-o", filepath.Join(t.TempDir(), "e.torrent"))
	if code != 0 || !strings.Contains(stdout, `x\x1b]52`) {
		t.Fatalf("create: %d\n%s\n%s", code, stdout, stderr)
	}
	terminalSafe(t, "create", stdout+stderr)
}
