package meta

import (
	"errors"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

func TestCheckBencode(t *testing.T) {
	good := []string{
		"i0e", "i-42e", "0:", "4:spam", "le", "de", "l4:spami3ee",
		"d3:cow3:moo4:spam4:eggse", "d4:listl1:a1:be1:xi1ee", "d1:ad1:bd1:cleeee",
	}
	for _, s := range good {
		if err := CheckBencode([]byte(s), MaxDepth); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	bad := []string{
		"", "i", "ie", "i-e", "i01e", "i-0e", "i1234567890123456789e", "5:abc",
		"99999999999999999:x", "l", "d", "e", "dee", "di1e1:xe", "d1:ae", "d1:a1:b1:ce",
		"4:spamX", "i1ei2e", "x", "l4:spam", "d3:cow3:moo4:spame",
		strings.Repeat("l", 65) + strings.Repeat("e", 65),
	}
	for _, s := range bad {
		if err := CheckBencode([]byte(s), MaxDepth); !errors.Is(err, ErrBadBencode) {
			t.Errorf("%q accepted", s)
		}
	}
	if err := CheckBencode([]byte("llleee"), 2); err == nil {
		t.Error("depth limit ignored")
	}
}

// FuzzCheckBencode holds CheckBencode to its promise: anything it accepts,
// anacrolix's decoder takes without panicking (it may still refuse, e.g.
// unsorted keys), and every canonical encoding it produces is accepted.
func FuzzCheckBencode(f *testing.F) {
	for _, s := range []string{"d3:cow3:moo4:spam4:eggse", "li1ei2ee", "d1:ad1:bleee", "i-1e"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckBencode(data, MaxDepth) != nil {
			return
		}
		var v any
		if err := bencode.Unmarshal(data, &v); err != nil {
			return
		}
		again, err := bencode.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %q: %v", data, err)
		}
		if err := CheckBencode(again, MaxDepth); err != nil {
			t.Fatalf("canonical %q refused: %v", again, err)
		}
	})
}

// A byte that is no ASCII is named in hex: %q printed 0xe3 as 'ã', a
// character the file does not hold.
func TestBencodeErrorNamesBytesInHex(t *testing.T) {
	for in, want := range map[string]string{"\xe3abc": "unexpected byte 0xe3 at 0", "d1:ax": "unexpected byte 'x' at 4", "\x1f": "unexpected byte 0x1f at 0"} {
		err := CheckBencode([]byte(in), MaxDepth)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
