package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestSeedSuperSeed: shoal seed --super-seed serves a whole download to
// shoal get, and its stopped event says how much it sent.
func TestSeedSuperSeed(t *testing.T) {
	const size = 1 << 20
	src, tor := seedFixture(t, size, "32KiB")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, hermetic([]string{"seed", tor, "--dir", src, "--port", "0", "--state-dir", t.TempDir(), "--json", "--super-seed"}),
			env{stdout: pw, stderr: io.Discard})
		pw.Close()
	}()
	port := make(chan string, 1)
	var mu sync.Mutex
	var events []map[string]any
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			if ev["event"] == "listening" {
				port <- strconv.Itoa(int(ev["port"].(float64)))
			}
		}
	}()
	var p string
	select {
	case p = <-port:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("seed --super-seed never listened")
	}
	dl := t.TempDir()
	code, stdout, stderr := shoal(t, "get", tor, "--dir", dl, "--peer", "127.0.0.1:"+p, "--no-seed", "--port", "0", "--state-dir", t.TempDir())
	cancel()
	<-exited
	<-read
	if code != 0 || !bytes.Contains([]byte(stdout), []byte("download complete")) {
		t.Fatalf("get from a super-seeder: %d\n%s\n%s", code, stdout, stderr)
	}
	if code, out, _ := shoal(t, "verify", tor, "--dir", dl); code != 0 {
		t.Fatalf("data does not verify:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	last := events[len(events)-1]
	total := size + size/3
	if up, ok := last["uploaded"].(float64); last["event"] != "stopped" || !ok || int(up) < total {
		t.Fatalf("last event %v, want stopped with uploaded >= %d", last, total)
	}
}
