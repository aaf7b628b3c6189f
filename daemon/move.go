package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/shoal-torrent/shoal/piece/meta"
)

// moveData moves a torrent's files from one save path to another: a
// rename on one filesystem; across filesystems a copy, checked against
// the original and given its mtime (so resume state stays valid), before
// the original is deleted. A file already at the destination stops the
// move before anything is touched.
func moveData(m *meta.Torrent, from, to string) error {
	type pair struct{ src, dst string }
	var files []pair
	for _, f := range m.Layout.Files {
		if f.Pad {
			continue
		}
		src := filepath.Join(append([]string{from}, f.Path...)...)
		if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
			continue // a skipped file never written
		}
		dst := filepath.Join(append([]string{to}, f.Path...)...)
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("move to %s: %s is already there", to, dst)
		}
		files = append(files, pair{src, dst})
	}
	for _, p := range files {
		if err := os.MkdirAll(filepath.Dir(p.dst), 0o755); err != nil {
			return err
		}
		err := os.Rename(p.src, p.dst)
		if errors.Is(err, syscall.EXDEV) {
			err = copyFile(p.src, p.dst)
			if err == nil {
				err = os.Remove(p.src)
			}
		}
		if err != nil {
			return fmt.Errorf("move %s: %w", p.src, err)
		}
	}
	removeEmptyDirs(from, m)
	return nil
}

// copyFile copies src to dst durably, checks the copy byte for byte and
// gives it src's mtime.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	fail := func(err error) error { out.Close(); os.Remove(dst); return err }
	if _, err := io.Copy(out, in); err != nil {
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	if err := sameContent(in, out); err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

func sameContent(a, b io.Reader) error {
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(a, ba)
		nb, eb := io.ReadFull(b, bb)
		if na != nb || string(ba[:na]) != string(bb[:nb]) {
			return errors.New("the copy differs from the original")
		}
		if ea != nil || eb != nil {
			if (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF) {
				return nil
			}
			return errors.Join(ea, eb)
		}
	}
}

// Relocate points torrents at a new save path under the daemon's roots.
// With move their files go there first (as to the complete directory);
// without, the data is looked for there, checked when the torrent next
// starts.
func (d *Daemon) Relocate(ids []int, dir string, move bool) error {
	to, err := d.allowedDir(dir)
	if err != nil {
		return err
	}
	check := func(e *entry) error {
		if e.moving {
			return fmt.Errorf("torrent %d is already moving", e.ID)
		}
		return nil
	}
	return d.forEachChecked(ids, check, func(e *entry) {
		if e.Dir == to {
			return
		}
		if !move || e.m == nil {
			e.Dir = to
			d.stop(e) // started again from the new place
			return
		}
		e.MoveTo, e.moving = to, true
		if e.t == nil && e.stopping == nil {
			d.moveToComplete(e)
		} else {
			d.stop(e)
		}
	})
}
