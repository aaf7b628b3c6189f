//go:build !linux

package swarm

import (
	"errors"
	"os"
	"syscall"
)

// haveSendfile says whether uploads can use sendFileRange.
const haveSendfile = false

// sendFileRange is Linux's; elsewhere uploads are read and written.
func sendFileRange(syscall.RawConn, []byte, *os.File, int64, int, *uploadFile) (bool, error) {
	return false, errors.ErrUnsupported
}
