//go:build unix

package piece

import "syscall"

// openNoBlock keeps an open of a FIFO from waiting for its other end, and
// O_NOCTTY keeps a planted terminal device from becoming ours.
const openNoBlock = syscall.O_NONBLOCK | syscall.O_NOCTTY
