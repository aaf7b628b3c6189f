//go:build !unix

package piece

// openNoBlock is zero where there are no FIFOs to block on.
const openNoBlock = 0
