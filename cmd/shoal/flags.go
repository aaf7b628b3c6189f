package main

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
)

// sizeValue is a flag that takes bytes or a size with units (256KiB, 1MiB),
// and optionally the word "auto" (stored as 0).
type sizeValue struct {
	n         int64
	allowAuto bool
}

func (s *sizeValue) String() string {
	if s.n == 0 && s.allowAuto {
		return "auto"
	}
	return humanize.IBytes(uint64(s.n))
}

func (s *sizeValue) Set(v string) error {
	if s.allowAuto && strings.EqualFold(v, "auto") {
		s.n = 0
		return nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<62 {
		return fmt.Errorf("%q is not a size (try 262144, 256KiB or 1MiB)", v)
	}
	s.n = int64(n)
	return nil
}

func (s *sizeValue) Type() string { return "SIZE" }
