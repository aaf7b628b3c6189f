package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoal-torrent/shoal/rpc"
)

// defaultRPC is where shoal daemon listens unless told otherwise.
const defaultRPC = "127.0.0.1:9091"

// runningDaemon says whether a shoal daemon answers at addr, so get and
// seed can say so and offer shoal add. It asks once, briefly: no answer,
// or a Transmission that is not shoal, is "no".
func runningDaemon(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	c := &rpc.Client{URL: "http://" + addr + rpc.Path, HTTP: &http.Client{Timeout: 500 * time.Millisecond}}
	var info struct {
		Version string `json:"version"`
	}
	if err := c.Call(ctx, "session-get", map[string]any{"fields": []string{"version"}}, &info); err != nil {
		// A daemon with --rpc-auth answers 401: still a daemon, but
		// not provably shoal's.
		return false
	}
	return strings.Contains(info.Version, "(shoal ")
}

// daemonAddr is where get and seed look for a daemon: $SHOAL_RPC when
// set (a daemon run with --rpc elsewhere), else the default.
func daemonAddr() string {
	if a := os.Getenv("SHOAL_RPC"); a != "" {
		return a
	}
	return defaultRPC
}

// offerDaemon tells a user of get or seed that a daemon is running, and
// the shoal add line that hands it the same torrents: two sessions on one
// machine compete for ports and bandwidth. It only advises; the command
// goes on standalone.
func offerDaemon(ctx context.Context, e env, args []string, dir string) {
	addr := daemonAddr()
	if !runningDaemon(ctx, addr) {
		return
	}
	line := "shoal add"
	for _, a := range args {
		if fi, err := os.Stat(a); err == nil && fi.IsDir() {
			line += " " + shellQuote(a) + "/*.torrent" // seed's folder of torrents
			continue
		}
		line += " " + shellQuote(a)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		line += " --dir " + shellQuote(abs)
	}
	if addr != defaultRPC {
		line += " --rpc " + shellQuote(addr)
	}
	warn(e, "a shoal daemon is running at %s: '%s' hands it this instead; going on standalone", addr, line)
}

// shellQuote quotes s for a POSIX shell when it needs it (a magnet's &).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
