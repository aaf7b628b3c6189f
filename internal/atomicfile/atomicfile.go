// Package atomicfile replaces a file so that a crash, a kill -9 or a full
// disk leaves either the old contents or the new, never a truncated mix:
// resume state, the daemon's torrent list and created .torrent files all
// depend on that.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write puts data at path with permissions perm: a temporary file beside
// it, fsync, rename over path, then fsync of the directory so the rename
// itself survives a power cut. The temporary file never outlives a
// failure.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
