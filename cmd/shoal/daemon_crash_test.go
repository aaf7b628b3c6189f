package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
)

// startDaemonLogged runs the shoal binary as a daemon with its log in a
// file, and returns it, its RPC address and the log's path.
func startDaemonLogged(t *testing.T, args ...string) (*exec.Cmd, string, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(shoalBinary(t), append([]string{"daemon", "--port", "0", "--rpc", "127.0.0.1:0", "--no-dht", "--no-trackers"}, args...)...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := rpcRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, m[1], logPath
		}
	}
	t.Fatal("the daemon never said where its RPC is")
	return nil, "", ""
}

var resumeLoadedRe = regexp.MustCompile(`resume state loaded.* trusted=(\d+) recheck=(\d+)`)

// TestDaemonKill9MidDownloadKeepsVerifiedPieces: resume state is saved
// while a download runs, so after a kill -9 mid-download the restart
// trusts every piece verified by the last save instead of hashing it.
func TestDaemonKill9MidDownloadKeepsVerifiedPieces(t *testing.T) {
	src, torrent := seedFixture(t, 1<<20, "32KiB")
	m, err := meta.Load(torrent)
	if err != nil {
		t.Fatal(err)
	}
	seeder := startShoal(t, "seed", torrent, "--dir", src, "--port", "0", "--up-limit", "256KiB", "--state-dir", t.TempDir())
	dl, state := t.TempDir(), t.TempDir()
	args := []string{"--dir", dl, "--state-dir", state, "--peer", "127.0.0.1:" + seeder.port, "--resume-interval", "1s"}
	cmd, addr, _ := startDaemonLogged(t, args...)
	if code, _, stderr := shoal(t, "add", torrent, "--rpc", addr); code != 0 {
		t.Fatalf("add: %s", stderr)
	}
	resumePath := filepath.Join(state, m.InfoHash.HexString()+".resume")
	saved := func() (int, []int, bool) {
		r, have, err := piece.LoadResume(resumePath, m.InfoHash.HexString(), m.Layout)
		if err != nil {
			return 0, nil, false
		}
		// Written since the save: what the strict check would distrust.
		moved := false
		for _, i := range r.Partial {
			fi, err := os.Stat(filepath.Join(dl, filepath.Join(m.Layout.Files[i].Path...)))
			moved = moved || err == nil && r.Files[i].Exists && fi.ModTime().After(r.Files[i].ModTime)
		}
		return have.Count(), r.Partial, moved
	}
	// Killed once data has landed since a save mid-download (the next
	// save is seconds away).
	eventually(t, "pieces saved mid-download, then more written", func() (bool, string) {
		n, partial, moved := saved()
		return n > 0 && len(partial) > 0 && moved, strconv.Itoa(n)
	})
	cmd.Process.Kill() // SIGKILL: nothing saved at exit
	cmd.Wait()
	n, partial, moved := saved()
	if n == m.Layout.NumPieces || len(partial) == 0 || !moved {
		t.Fatalf("killed at the wrong moment to test anything: %d of %d pieces saved, partial files %v, written since %v",
			n, m.Layout.NumPieces, partial, moved)
	}

	_, addr, logPath := startDaemonLogged(t, append(args, "--verbose")...) // the resume line is at info
	var trusted, recheck int
	eventually(t, "the restart loads the resume state", func() (bool, string) {
		b, _ := os.ReadFile(logPath)
		g := resumeLoadedRe.FindSubmatch(b)
		if g == nil {
			return false, string(b)
		}
		trusted, _ = strconv.Atoi(string(g[1]))
		recheck, _ = strconv.Atoi(string(g[2]))
		return true, ""
	})
	t.Logf("saved %d partial %v trusted %d recheck %d", n, partial, trusted, recheck)
	if trusted != n || recheck != 0 {
		t.Fatalf("after kill -9 with %d pieces saved: restart trusted %d and rehashes %d", n, trusted, recheck)
	}
	eventually(t, "the download finishes after the restart", func() (bool, string) {
		st := statusOf(t, addr, 1)
		return st == "seeding", st
	})
	if code, out, _ := shoal(t, "verify", torrent, "--dir", dl); code != 0 {
		t.Fatalf("the finished download does not verify:\n%s", out)
	}
}
