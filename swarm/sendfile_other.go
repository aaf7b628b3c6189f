//go:build !linux

package swarm

import (
	"errors"
	"net"
	"os"
)

// haveSendfile says whether uploads can use sendFileRange.
const haveSendfile = false

// sendFileRange is Linux's; elsewhere uploads are read and written.
func sendFileRange(*net.TCPConn, []byte, *os.File, int64, int) (bool, error) {
	return false, errors.ErrUnsupported
}
