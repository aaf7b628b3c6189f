package piece

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by every refusal of a data path that is not a
// regular file. A FIFO planted where a data file belongs would block the
// first open until someone writes to it, and a device or socket is no
// place for a torrent's bytes, so neither is ever read or written.
var ErrNotRegular = errors.New("not a regular file")

// checkRegular refuses fi unless it describes a regular file; path names
// it in the message.
func checkRegular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	case m.IsDir():
		kind = "a directory"
	}
	return fmt.Errorf("%w: %s is %s; move it away and run again", ErrNotRegular, path, kind)
}

// openRegular opens rel below root for flag without ever blocking on a
// special file: the path is checked first, and the open itself is
// non-blocking (a FIFO opens at once instead of waiting for a writer)
// with its result checked again, so a file swapped in between is caught
// too. On regular files O_NONBLOCK changes nothing.
func openRegular(root *os.Root, rel, path string, flag int, perm fs.FileMode) (*os.File, error) {
	fi, err := root.Stat(rel)
	switch {
	case err == nil:
		if err := checkRegular(path, fi); err != nil {
			return nil, err
		}
	case flag&os.O_CREATE == 0 && errors.Is(err, fs.ErrNotExist):
		return nil, err // a missing file costs one system call, not two
	}
	f, err := root.OpenFile(rel, flag|openNoBlock, perm)
	if err != nil {
		return nil, err
	}
	fi, err = f.Stat()
	if err == nil {
		err = checkRegular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
