package meta

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The helpers here read values out of bencode that CheckBencode has
// already accepted, without copying them: a torrent's piece hashes and
// piece layers are most of its bytes. Each reports through ok whether the
// value has the type asked for, so optional fields of the wrong type can
// be skipped with a warning instead of refusing the torrent.

// eachEntry calls fn with every key and raw value of the dictionary d in
// order; it does nothing when d is not a dictionary.
func eachEntry(d []byte, fn func(key string, v []byte)) {
	if len(d) == 0 || d[0] != 'd' {
		return
	}
	for pos := 1; pos < len(d) && d[pos] != 'e'; {
		kl, err := ValueLen(d[pos:], MaxDepth)
		if err != nil {
			return
		}
		k, _ := rawBytes(d[pos : pos+kl])
		pos += kl
		vl, err := ValueLen(d[pos:], MaxDepth)
		if err != nil {
			return
		}
		fn(string(k), d[pos:pos+vl:pos+vl])
		pos += vl
	}
}

// eachItem calls fn with every raw item of the list l and reports whether
// l is a list.
func eachItem(l []byte, fn func(v []byte)) bool {
	if len(l) == 0 || l[0] != 'l' {
		return false
	}
	for pos := 1; pos < len(l) && l[pos] != 'e'; {
		n, err := ValueLen(l[pos:], MaxDepth)
		if err != nil {
			return false
		}
		fn(l[pos : pos+n : pos+n])
		pos += n
	}
	return true
}

// rawBytes returns the contents of the string v, sharing v's memory.
func rawBytes(v []byte) ([]byte, bool) {
	if len(v) == 0 || v[0] < '0' || v[0] > '9' {
		return nil, false
	}
	colon := bytes.IndexByte(v, ':')
	if colon < 0 {
		return nil, false
	}
	return v[colon+1 : len(v) : len(v)], true
}

func rawString(v []byte) (string, bool) {
	b, ok := rawBytes(v)
	return string(b), ok
}

func rawInt(v []byte) (int64, bool) {
	if len(v) < 3 || v[0] != 'i' || v[len(v)-1] != 'e' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v[1:len(v)-1]), 10, 64)
	return n, err == nil
}

// rawStrings reads a list of strings; bad counts the items that are not
// strings, which are left out.
func rawStrings(v []byte) (out []string, bad int, ok bool) {
	ok = eachItem(v, func(item []byte) {
		if s, ok := rawString(item); ok {
			out = append(out, s)
		} else {
			bad++
		}
	})
	return out, bad, ok
}

// printable quotes s for an error line or warning when it holds anything
// but printable UTF-8, so no raw bytes from a torrent reach a terminal or
// log.
func printable(s string) string {
	if isPrintable(s) {
		return strconv.Quote(s)
	}
	return strconv.QuoteToASCII(s)
}

// isPrintable tells whether s is valid UTF-8 without control characters.
func isPrintable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) < 0
}

// typeName names the bencode type of the raw value v, for warnings.
func typeName(v []byte) string {
	switch {
	case len(v) == 0:
		return "nothing"
	case v[0] == 'i':
		return "an integer"
	case v[0] == 'l':
		return "a list"
	case v[0] == 'd':
		return "a dictionary"
	default:
		return "a string"
	}
}

// plural0 is the word alone for n things: "is" or "are".
func plural0(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// plural counts n things in words: "1 entry", "2 entries".
func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural0(n, one, many))
}
