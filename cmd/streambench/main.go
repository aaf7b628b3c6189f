// Command streambench measures shoal stream: from a seeder capped at a
// fixed rate, the time to the first byte and to a whole 1 MiB read at a
// random offset of a large torrent, next to the time the whole download
// takes. Seeder and streamer are shoal processes of their own on loopback.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
)

func main() {
	size := flag.String("size", "1GiB", "size of the generated file")
	pieceSize := flag.String("piece", "1MiB", "piece size")
	rate := flag.String("rate", "20MiB", "the seeder's upload limit per second")
	shoal := flag.String("shoal", "bin/shoal", "shoal binary")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this")
	flag.Parse()
	if err := run(*shoal, *size, *pieceSize, *rate, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "streambench:", err)
		os.Exit(1)
	}
}

func run(shoal, size, pieceSize, rate string, timeout time.Duration) error {
	n, err := humanize.ParseBytes(size)
	if err != nil {
		return fmt.Errorf("-size: %w", err)
	}
	work, err := os.MkdirTemp("", "streambench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	src := filepath.Join(work, "src")
	os.MkdirAll(src, 0o755)
	data := filepath.Join(src, "movie.bin")
	if err := writeRandom(data, int64(n)); err != nil {
		return err
	}
	tor := filepath.Join(work, "movie.torrent")
	if out, err := exec.CommandContext(ctx, shoal, "create", data, "-o", tor, "--piece-size", pieceSize).CombinedOutput(); err != nil {
		return fmt.Errorf("create: %v: %s", err, out)
	}
	seeder, seedEvents, err := start(ctx, shoal, "seed", tor, "--dir", src, "--port", "0", "--up-limit", rate,
		"--no-dht", "--no-trackers", "--state-dir", filepath.Join(work, "s1"), "--json")
	if err != nil {
		return err
	}
	defer stop(seeder)
	port, err := waitEvent(ctx, seedEvents, "listening")
	if err != nil {
		return err
	}
	if _, err := waitFor(ctx, seedEvents, func(ev map[string]any) bool { return ev["state"] == "seeding" }); err != nil {
		return fmt.Errorf("seeder: %w", err)
	}
	begin := time.Now()
	streamer, events, err := start(ctx, shoal, "stream", tor, "--dir", filepath.Join(work, "dl"), "--http", "127.0.0.1:0",
		"--peer", fmt.Sprintf("127.0.0.1:%v", port["port"]), "--port", "0", "--no-dht", "--no-trackers",
		"--state-dir", filepath.Join(work, "s2"), "--json")
	if err != nil {
		return err
	}
	defer stop(streamer)
	ev, err := waitEvent(ctx, events, "streaming")
	if err != nil {
		return err
	}
	url, _ := ev["url"].(string)
	off := rand.Int64N(int64(n) - 1<<20)
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"0/movie.bin", nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+1<<20-1))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	var first time.Duration
	buf := make([]byte, 64<<10)
	got := 0
	for {
		k, err := res.Body.Read(buf)
		if k > 0 && got == 0 {
			first = time.Since(begin)
		}
		got += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	res.Body.Close()
	whole := time.Since(begin)
	if got != 1<<20 {
		return fmt.Errorf("read %d bytes, want 1 MiB", got)
	}
	if _, err := waitEvent(ctx, events, "complete"); err != nil {
		return err
	}
	all := time.Since(begin)
	fmt.Printf("%s torrent, %s pieces, seeder at %s/s, read at offset %s:\n", size, pieceSize, rate, humanize.IBytes(uint64(off)))
	fmt.Printf("  first byte         %8.2fs\n", first.Seconds())
	fmt.Printf("  1 MiB read         %8.2fs\n", whole.Seconds())
	fmt.Printf("  whole download     %8.2fs  (%.0fx the 1 MiB read)\n", all.Seconds(), all.Seconds()/whole.Seconds())
	return nil
}

// writeRandom fills path with n bytes that do not compress.
func writeRandom(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, r, n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// start runs a shoal command and returns its JSON events.
func start(ctx context.Context, bin string, args ...string) (*exec.Cmd, <-chan map[string]any, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	events := make(chan map[string]any, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev["event"] == "progress" && ev["state"] != "seeding" {
				continue // progress nobody waits for
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return cmd, events, nil
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
}

func waitEvent(ctx context.Context, events <-chan map[string]any, kind string) (map[string]any, error) {
	return waitFor(ctx, events, func(ev map[string]any) bool { return ev["event"] == kind })
}

func waitFor(ctx context.Context, events <-chan map[string]any, match func(map[string]any) bool) (map[string]any, error) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, errors.New("the process ended")
			}
			if match(ev) {
				return ev, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
