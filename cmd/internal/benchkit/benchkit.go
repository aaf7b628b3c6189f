// Package benchkit holds what shoal's benchmark commands (swarmbench,
// distbench, streambench) share: where their data lives and how it is
// made, so every benchmark measures the clients on the same footing.
package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// WorkDir makes a temporary directory for a run, on tmpfs (/dev/shm)
// when there is one: this machine's disk makes writes erratic (the same
// 1 GiB dd takes 0.5 s or 3.5 s), which would measure the disk rather
// than the clients. remove deletes it.
func WorkDir(prefix string) (dir string, remove func(), err error) {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	d, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("benchmark work directory: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// MakeTorrent writes size pseudo-random bytes at path (incompressible,
// like media; kept when a file of that size is already there) and a v1
// torrent of it with the given piece size at torPath.
func MakeTorrent(path, torPath string, size, piece int64) error {
	if err := generate(path, size); err != nil {
		return fmt.Errorf("generate %s: %w", path, err)
	}
	m, err := meta.Create(context.Background(), meta.CreateOptions{Path: path, PieceLength: piece})
	if err != nil {
		return err
	}
	f, err := os.Create(torPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := m.Write(f); err != nil {
		return err
	}
	return f.Close()
}

func generate(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'})
	buf := make([]byte, 4<<20)
	w := bufio.NewWriterSize(f, len(buf))
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		r.Read(buf[:n])
		w.Write(buf[:n])
		left -= n
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
