//go:build linux

package swarm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// haveSendfile says whether uploads can use sendFileRange.
const haveSendfile = true

// sendFileRange writes hdr and then n bytes of f at off to the socket
// dst (a TCP connection's raw conn) without copying them through user
// space: the header goes with MSG_MORE so the kernel puts it in the same
// segment as the data, then sendfile(2) with an explicit offset, which
// leaves f's position alone (the descriptor is shared with other
// connections and the hash workers). The write deadline set on the
// connection applies. A file shorter than the range is refused before
// anything is sent: wrote is false then, and the error is the storage's,
// not the connection's. fc remembers f's size and raw conn across one
// upload batch.
func sendFileRange(dst syscall.RawConn, hdr []byte, f *os.File, off int64, n int, fc *uploadFile) (wrote bool, _ error) {
	src, size, err := fc.get(f)
	if err != nil {
		return false, fmt.Errorf("upload: %w", err)
	}
	if size < off+int64(n) {
		return false, fmt.Errorf("%s is shorter than the torrent says: %w", f.Name(), io.ErrUnexpectedEOF)
	}
	var werr error
	cerr := src.Control(func(sfd uintptr) {
		sent, left := 0, n
		err := dst.Write(func(dfd uintptr) bool {
			for sent < len(hdr) {
				k, err := unix.SendmsgN(int(dfd), hdr[sent:], nil, nil, unix.MSG_MORE|unix.MSG_NOSIGNAL)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case errors.Is(err, unix.EAGAIN):
					return false // wait until writable
				case err != nil:
					werr = err
					return true
				}
				sent += k
			}
			for left > 0 {
				k, err := unix.Sendfile(int(dfd), int(sfd), &off, left)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case errors.Is(err, unix.EAGAIN):
					return false
				case err != nil:
					werr = err
					return true
				case k == 0:
					werr = io.ErrUnexpectedEOF // truncated under us
					return true
				}
				left -= k
			}
			return true
		})
		if werr == nil {
			werr = err
		}
	})
	if cerr != nil {
		return true, cerr
	}
	return true, werr
}
