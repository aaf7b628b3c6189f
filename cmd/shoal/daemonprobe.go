package main

import (
	"context"
	"net/http"
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
