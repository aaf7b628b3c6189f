package rpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shoal-torrent/shoal/daemon"
)

// fakeEngine records calls and holds two torrents.
type fakeEngine struct {
	mu      sync.Mutex
	stopped []int
	added   []daemon.AddRequest
	session daemon.SessionSettings
}

func (f *fakeEngine) Add(r daemon.AddRequest) (daemon.Status, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, r)
	return daemon.Status{ID: 3, Name: "new", InfoHash: strings.Repeat("c", 40)}, false, nil
}

func (f *fakeEngine) Torrents(ids []int, detail bool) ([]daemon.Status, error) {
	all := []daemon.Status{
		{ID: 1, Name: "one", InfoHash: strings.Repeat("a", 40), State: "seeding", Size: 100},
		{ID: 2, Name: "two", InfoHash: strings.Repeat("b", 40), State: "downloading", Size: 100, Left: 50, UpRate: 3.7},
	}
	if ids == nil {
		return all, nil
	}
	var out []daemon.Status
	for _, t := range all {
		for _, id := range ids {
			if t.ID == id {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

func (f *fakeEngine) Start([]int) error  { return nil }
func (f *fakeEngine) Verify([]int) error { return nil }
func (f *fakeEngine) Stop(ids []int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, ids...)
	return nil
}
func (f *fakeEngine) Remove([]int, bool) error           { return nil }
func (f *fakeEngine) Set([]int, daemon.Settings) error   { return nil }
func (f *fakeEngine) Relocate([]int, string, bool) error { return nil }
func (f *fakeEngine) Session() (daemon.SessionInfo, error) {
	return daemon.SessionInfo{Dir: "/data"}, nil
}
func (f *fakeEngine) Stats() (daemon.Stats, error) { return daemon.Stats{Torrents: 2}, nil }
func (f *fakeEngine) SetSession(s daemon.SessionSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.session = s
	return nil
}

func newTestServer(t *testing.T, cfg Config) (*httptest.Server, *fakeEngine) {
	t.Helper()
	eng := &fakeEngine{}
	cfg.Engine = eng
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s) // a real socket on 127.0.0.1
	t.Cleanup(ts.Close)
	return ts, eng
}

func post(t *testing.T, url, sid, body string, mod func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if sid != "" {
		req.Header.Set(SessionIDHeader, sid)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func TestRPCSessionIDHandshake(t *testing.T) {
	ts, eng := newTestServer(t, Config{})
	url := ts.URL + Path
	resp, _ := post(t, url, "", `{"method":"torrent-stop","arguments":{"ids":[2]}}`, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("without a session id: %s", resp.Status)
	}
	sid := resp.Header.Get(SessionIDHeader)
	if sid == "" {
		t.Fatal("409 without a session id")
	}
	if r, _ := post(t, url, "wrong", `{}`, nil); r.StatusCode != http.StatusConflict {
		t.Fatalf("with a wrong session id: %s", r.Status)
	}
	eng.mu.Lock()
	stopped := len(eng.stopped)
	eng.mu.Unlock()
	if stopped != 0 {
		t.Fatal("a request without the session id was run")
	}
	resp, body := post(t, url+"/", sid, `{"method":"torrent-get","arguments":{"fields":["id","name","rateUpload","uploadRatio"],"ids":[2,"`+strings.Repeat("A", 40)+`"]},"tag":7}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	var got struct {
		Result    string `json:"result"`
		Tag       int    `json:"tag"`
		Arguments struct {
			Torrents []map[string]any `json:"torrents"`
		} `json:"arguments"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Result != "success" || got.Tag != 7 || len(got.Arguments.Torrents) != 2 {
		t.Fatalf("answer: %s", body)
	}
	// transmission-remote reads rates as integers.
	if !strings.Contains(body, `"rateUpload":3,`) && !strings.Contains(body, `"rateUpload":3}`) {
		t.Fatalf("rateUpload is not an integer: %s", body)
	}
}

func TestRPCAuthHostAndBodyLimits(t *testing.T) {
	ts, _ := newTestServer(t, Config{User: "me", Password: "secret", MaxBody: 1024})
	url := ts.URL + Path
	resp, _ := post(t, url, "", `{}`, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("without credentials: %s %v", resp.Status, resp.Header)
	}
	if r, _ := post(t, url, "", `{}`, func(r *http.Request) { r.SetBasicAuth("me", "wrong") }); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", r.Status)
	}
	auth := func(r *http.Request) { r.SetBasicAuth("me", "secret") }
	resp, _ = post(t, url, "", `{}`, auth)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("with credentials: %s", resp.Status)
	}
	sid := resp.Header.Get(SessionIDHeader)
	rebind := func(r *http.Request) { auth(r); r.Host = "evil.example:9091" }
	if r, _ := post(t, url, sid, `{"method":"session-get"}`, rebind); r.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host header: %s", r.Status)
	}
	big := `{"method":"session-get","arguments":{"x":"` + strings.Repeat("x", 2000) + `"}}`
	if r, _ := post(t, url, sid, big, auth); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %s", r.Status)
	}
	c := &Client{URL: url, User: "me", Password: "secret"}
	var info map[string]any
	if err := c.Call(context.Background(), "session-get", nil, &info); err != nil {
		t.Fatal(err)
	}
	if info["download-dir"] != "/data" || info["rpc-version"] != float64(rpcVersion) {
		t.Fatalf("session-get: %v", info)
	}
}

func TestRPCBadRequestsGetResultStrings(t *testing.T) {
	ts, eng := newTestServer(t, Config{})
	c := &Client{URL: ts.URL + Path}
	ctx := context.Background()
	for _, tc := range []struct {
		method string
		args   any
		want   string
	}{
		{"no-such-method", nil, "method name not recognized"},
		{"torrent-get", map[string]any{"fields": []string{"id"}, "ids": "nonsense"}, "neither a torrent id"},
		{"torrent-get", map[string]any{"fields": []string{"id"}, "ids": []any{-1}}, "not a torrent id"},
		{"torrent-get", map[string]any{"ids": []int{1}}, "needs a list of fields"},
		{"torrent-add", map[string]any{"metainfo": "!!!"}, "not base64"},
		{"torrent-add", map[string]any{"filename": "relative.torrent"}, "absolute path"},
		{"torrent-set", map[string]any{"ids": []int{1}, "downloadLimit": -5}, "want kB/s"},
		{"session-set", map[string]any{"speed-limit-down": -5}, "out of range"},
		{"session-set", map[string]any{"script-torrent-done-filename": "/bin/sh"}, "cannot change"},
		{"torrent-stop", map[string]any{"ids": map[string]int{"a": 1}}, "invalid arguments"},
	} {
		err := c.Call(ctx, tc.method, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want %q", tc.method, tc.args, err, tc.want)
		}
	}
	if len(eng.added) != 0 || eng.session != (daemon.SessionSettings{}) {
		t.Fatal("a refused request changed something")
	}
	// Unknown ids are left out, as Transmission does; known ones run.
	if err := c.Call(ctx, "torrent-stop", map[string]any{"ids": []any{2, 99}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(eng.stopped) != 1 || eng.stopped[0] != 2 {
		t.Fatalf("stopped %v", eng.stopped)
	}
	var kb int64 = 100
	if err := c.Call(ctx, "session-set", map[string]any{"speed-limit-down": kb, "speed-limit-down-enabled": true}, nil); err != nil {
		t.Fatal(err)
	}
	if eng.session.DownLimit == nil || *eng.session.DownLimit != 100_000 {
		t.Fatalf("session-set speed-limit-down 100 set %v", eng.session.DownLimit)
	}
}

// A kept queue size of 0 (a state file edited by hand) would turn a
// queue off when it is switched on: it keeps Transmission's default.
// Kept speeds may be 0, as session-set takes them; values in force win.
func TestKeptValues(t *testing.T) {
	got := kept(daemon.SessionInfo{Kept: &daemon.Kept{DownKBps: 0, UpKBps: 250}, MaxSeeds: 3})
	if want := (daemon.Kept{DownKBps: 0, UpKBps: 250, Downloads: 5, Seeds: 3}); got != want {
		t.Fatalf("kept %+v, want %+v", got, want)
	}
	if got := kept(daemon.SessionInfo{}); got != (daemon.Kept{DownKBps: 100, UpKBps: 100, Downloads: 5, Seeds: 10}) {
		t.Fatalf("defaults %+v", got)
	}
}
