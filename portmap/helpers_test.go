package portmap

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// wait is how long a test waits for something that should happen at once.
const wait = 10 * time.Second

// testConfig forwards TCP and UDP 6881 with both methods off: each test
// switches on the ones it points at fakes, so nothing leaves loopback.
func testConfig(t *testing.T) (Config, chan Status) {
	cfg := DefaultConfig(Port{TCP, 6881}, Port{UDP, 6881})
	cfg.UPnP, cfg.NATPMP = false, false
	cfg.SearchWait = 300 * time.Millisecond
	cfg.RequestTimeout = time.Second
	cfg.CloseTimeout = 2 * time.Second
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 40*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	statuses := make(chan Status, 1024)
	cfg.OnStatus = func(s Status) { statuses <- s }
	return cfg, statuses
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// start starts a Mapper and closes it when the test ends.
func start(t *testing.T, cfg Config) *Mapper {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// waitStatus returns the first status ok accepts.
func waitStatus(t *testing.T, statuses <-chan Status, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case s := <-statuses:
			t.Logf("status: %s", s)
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatal("no such status in time")
		}
	}
}

func isState(st State) func(Status) bool { return func(s Status) bool { return s.State == st } }
