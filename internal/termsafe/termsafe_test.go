package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"album", "album"},
		{"Ünïcødé 日本語 🎵", "Ünïcødé 日本語 🎵"},
		{`C:\path\x1b`, `C:\path\x1b`}, // backslashes are kept
		{"", ""},
		{"evil\x1b]52;c;cHduZWQ=\x07name", `evil\x1b]52;c;cHduZWQ=\x07name`},
		{"line1\nshoal: forged\r\n", `line1\x0ashoal: forged\x0d\x0a`},
		{"tab\there\x00nul\x7fdel", `tab\x09here\x00nul\x7fdel`},
		{"c1 \u009b31m csi", `c1 \u009b31m csi`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"file\u202eexe.txt", `file\u202eexe.txt`},
		{"a\u2028b", `a\u2028b`},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStringDoesNotAllocateForPlainText(t *testing.T) {
	s := strings.Repeat("plain name ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
		t.Fatalf("%v allocations for text that needs no escaping", n)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"album", "\x1b]52;c;eA==\x07", "a\nb", "\xff", "\u009b", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q is not UTF-8", s, out)
		}
		for i, r := range out {
			if needsEscape(r, utf8.RuneLen(r)) {
				t.Fatalf("String(%q) = %q keeps %U at %d", s, out, r, i)
			}
		}
		if again := String(out); again != out {
			t.Fatalf("not stable: %q then %q", out, again)
		}
	})
}

func TestJSON(t *testing.T) {
	in := map[string]string{"name": "x\x1b]52;c;eA==\x07\nCSI\u009b[2J del\x7f bidi\u202e 日本"}
	var buf bytes.Buffer
	enc := json.NewEncoder(JSONWriter(&buf))
	enc.SetIndent("", "  ")
	if err := enc.Encode(in); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for i, r := range out {
		if r != '\n' && needsEscape(r, utf8.RuneLen(r)) {
			t.Fatalf("raw %U at %d in %q", r, i, out)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["name"] != in["name"] {
		t.Fatalf("does not decode to the same value: %v %q", err, back["name"])
	}
	plain := []byte(`{"a": "b"}`)
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Fatal("plain JSON was copied")
	}
}
