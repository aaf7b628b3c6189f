// Package termsafe makes text from torrents, peers and trackers safe to
// print on a terminal. A torrent's name, comment or file paths, a magnet
// link's dn, a peer's client name or a tracker's failure reason can hold
// escape sequences (an OSC 52 clipboard write, a cursor move that forges
// output) or newlines that fake extra lines; printed raw, the terminal
// obeys them. It is a leaf package so that both cmd/shoal and tui can use
// it.
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// String returns s with every character a terminal would act on instead of
// show replaced by a visible escape: C0 controls (newline, tab and ESC
// among them) and DEL as \x1b, C1 controls as \u009b, bidirectional
// overrides and isolates (which reorder what follows them on the line) and
// the Unicode line and paragraph separators as \u202e, and bytes that are
// not UTF-8 as \xff. Everything else, backslashes included, is kept, so
// ordinary names print unchanged and an escape in the output always means
// the text held that character. The result is safe to print and to pass
// through String again unchanged.
func String(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to escape, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r, n):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape tells whether the rune r, n bytes long in the input, must be
// escaped.
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // a byte that is not UTF-8
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f: // bidi
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// JSON returns JSON text b with the characters String escapes that
// encoding/json leaves raw (DEL, C1 controls such as U+009B, a one-byte
// CSI to many terminals, and bidi overrides) written as \u escapes. The
// result decodes to the same values. C0 controls are left alone: inside
// strings encoding/json has already escaped them, and outside strings they
// are the JSON's own whitespace.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x7f && needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+12)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case r >= 0x7f && needsEscape(r, n):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// JSONWriter passes what is written through JSON to w. Each Write must
// hold whole characters, as a json.Encoder's (one whole value) do.
func JSONWriter(w io.Writer) io.Writer { return jsonWriter{w} }

type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	if _, err := j.w.Write(JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
