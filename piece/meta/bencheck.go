// Package meta reads, checks and writes .torrent files and magnet links,
// turning them into the piece.Layout the rest of shoal works from. It uses
// anacrolix's bencode and metainfo packages, but only after bounding the
// input itself, because that decoder trusts nesting depth and length claims.
package meta

import (
	"errors"
	"fmt"
)

// MaxDepth is the deepest bencode nesting accepted from untrusted input.
// A .torrent needs about five levels and a BEP 52 file tree one per
// directory; 64 leaves room while keeping the decoder's recursion shallow.
const MaxDepth = 64

// ErrBadBencode is wrapped by every refusal from CheckBencode.
var ErrBadBencode = errors.New("malformed bencode")

// CheckBencode verifies that data is exactly one well-formed bencode value
// nested at most maxDepth deep, in which no string claims more bytes than
// remain and no integer overflows 64 bits. It allocates nothing, runs in
// one pass without recursion, and is what stands between untrusted bytes
// and anacrolix's decoder.
func CheckBencode(data []byte, maxDepth int) error {
	end, err := ValueLen(data, maxDepth)
	if err != nil {
		return err
	}
	if end != len(data) {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadBencode, len(data)-end)
	}
	return nil
}

// ValueLen checks the bencode value at the start of data as CheckBencode
// does and returns its length; what follows is not looked at. BEP 9 data
// messages are a dictionary followed by raw bytes.
func ValueLen(data []byte, maxDepth int) (int, error) {
	depth := 0
	// inDict[d] tells whether nesting level d is a dictionary, and
	// wantKey whether the next value at this level is a key. One bit per
	// level keeps this allocation-free for maxDepth <= 63.
	var inDict, wantKey uint64
	if maxDepth > 63 {
		maxDepth = 63 // levels 1..63 each get their own bit
	}
	pos := 0
	for {
		if pos >= len(data) {
			return 0, fmt.Errorf("%w: truncated at byte %d", ErrBadBencode, pos)
		}
		c := data[pos]
		bit := uint64(1) << uint(depth)
		if depth > 0 && inDict&bit != 0 && wantKey&bit != 0 && c != 'e' && (c < '0' || c > '9') {
			return 0, fmt.Errorf("%w: dictionary key at byte %d is not a string", ErrBadBencode, pos)
		}
		switch {
		case c == 'e':
			if depth == 0 {
				return 0, fmt.Errorf("%w: unexpected end marker at byte %d", ErrBadBencode, pos)
			}
			if inDict&bit != 0 && wantKey&bit == 0 {
				return 0, fmt.Errorf("%w: dictionary key without a value at byte %d", ErrBadBencode, pos)
			}
			inDict &^= bit
			wantKey &^= bit
			depth--
			pos++
		case c == 'l' || c == 'd':
			if depth >= maxDepth {
				return 0, fmt.Errorf("%w: nested deeper than %d", ErrBadBencode, maxDepth)
			}
			depth++
			pos++
			nb := uint64(1) << uint(depth)
			if c == 'd' {
				inDict |= nb
				wantKey |= nb
			} else {
				inDict &^= nb
				wantKey &^= nb
			}
			continue // a new container's first item is not a completed value
		case c == 'i':
			end, err := scanInt(data, pos+1, 'e', true)
			if err != nil {
				return 0, err
			}
			pos = end + 1
		case c >= '0' && c <= '9':
			end, err := scanInt(data, pos, ':', false)
			if err != nil {
				return 0, err
			}
			n := parseDigits(data[pos:end])
			if n < 0 || n > int64(len(data)-end-1) {
				return 0, fmt.Errorf("%w: string at byte %d claims more bytes than remain", ErrBadBencode, pos)
			}
			pos = end + 1 + int(n)
		default:
			return 0, fmt.Errorf("%w: unexpected byte %s at %d", ErrBadBencode, byteName(c), pos)
		}
		if depth == 0 {
			return pos, nil
		}
		// A value just completed at this level: in a dictionary, keys and
		// values alternate.
		if lb := uint64(1) << uint(depth); inDict&lb != 0 {
			wantKey ^= lb
		}
	}
}

// scanInt finds the terminator of a decimal integer starting at pos and
// checks its form: digits only (a leading '-' when signed), no leading
// zeros, at most 18 digits so it fits in an int64.
func scanInt(data []byte, pos int, term byte, signed bool) (int, error) {
	start := pos
	if signed && pos < len(data) && data[pos] == '-' {
		pos++
	}
	digits := pos
	for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
		pos++
	}
	n := pos - digits
	switch {
	case pos >= len(data):
		return 0, fmt.Errorf("%w: truncated integer at byte %d", ErrBadBencode, start)
	case data[pos] != term:
		return 0, fmt.Errorf("%w: bad integer at byte %d", ErrBadBencode, start)
	case n == 0 || n > 18:
		return 0, fmt.Errorf("%w: integer at byte %d has %d digits", ErrBadBencode, start, n)
	case n > 1 && data[digits] == '0', digits > start && data[digits] == '0':
		return 0, fmt.Errorf("%w: non-canonical integer at byte %d", ErrBadBencode, start)
	}
	return pos, nil
}

func parseDigits(b []byte) int64 {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n
}

// byteName shows a byte of a file as itself when it is printable ASCII
// and in hex otherwise: %q would show 0xe3 as 'ã', a character the file
// does not hold.
func byteName(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("0x%02x", c)
}
