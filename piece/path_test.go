package piece

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPathRefusesHostilePaths(t *testing.T) {
	hostile := [][]string{
		nil,
		{""},
		{"a", ""},
		{".."},
		{"a", "..", "..", "etc"},
		{"."},
		{"/etc/passwd"},
		{"a/../../b"},
		{"a\\..\\b"},
		{"evil\x00.txt"},
		{"C:", "Windows"},
		{"c:evil"},
		{strings.Repeat("x", 256)},
		{"\xff\xfe"},
	}
	for _, p := range hostile {
		if rel, err := CheckPath(p); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("%q accepted as %q", p, rel)
		}
	}
	ok := [][]string{{"a"}, {"dir", "sub", "file.txt"}, {"..hidden"}, {"a..b"}, {"ünïcode"}, {".pad", "7"}}
	for _, p := range ok {
		if _, err := CheckPath(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
}
