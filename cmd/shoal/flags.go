package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// sizeValue is a flag that takes bytes or a size with units (256KiB, 1MiB),
// and optionally a word for 0 ("auto", "unlimited").
type sizeValue struct {
	n int64
	// zero is the word that means 0, accepted as a value and shown as the
	// default; "" when 0 is no valid size.
	zero string
}

// String shows the value as the help's "(default …)" does: the word for
// 0 when there is one, so the help never says "(default 0 B)" beside it.
func (s *sizeValue) String() string {
	if s.n == 0 && s.zero != "" {
		return s.zero
	}
	return humanize.IBytes(uint64(s.n))
}

func (s *sizeValue) Set(v string) error {
	if s.zero != "" && strings.EqualFold(v, s.zero) {
		s.n = 0
		return nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<62 {
		if s.zero != "" {
			return errors.New("want a size, e.g. 262144, 256KiB or 1MiB, or " + s.zero)
		}
		return errors.New("want a size, e.g. 262144, 256KiB or 1MiB")
	}
	s.n = int64(n)
	return nil
}

func (s *sizeValue) Type() string { return "SIZE" }

// portValue is a UDP or TCP port that may be left unset (-1) to mean
// "whatever the help says": it shows no "(default -1)" in the help,
// which says in words what unset means.
type portValue struct{ n int }

func (p *portValue) String() string {
	if p.n < 0 {
		return ""
	}
	return strconv.Itoa(p.n)
}

func (p *portValue) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("want a port number from 0 to 65535 (0 picks a free one)")
	}
	p.n = n
	return nil
}

func (p *portValue) Type() string { return "PORT" }
