package meta

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/shoal-torrent/shoal/piece"
)

// maxComponent is the longest file name common file systems accept.
const maxComponent = 255

// legacyPadPrefix names the pad files BitComet and old libtorrent wrote
// before BEP 47 gave them an attribute; libtorrent still treats them as
// padding, and so must shoal, or the zeros get downloaded and saved.
const legacyPadPrefix = "_____padding_file_"

// safeComponents makes a torrent's path components safe the way libtorrent
// does, instead of refusing a torrent other clients load: empty, "." and
// separator-only components are dropped, separators and bytes that are
// not UTF-8 inside a name become "_", and a name longer than 255 bytes is
// shortened keeping its extension. What could reach outside the save path
// (".." anywhere, a leading separator, a drive letter) is still refused,
// as is a NUL. The result is checked by piece.CheckPath; changed tells
// whether it differs.
func safeComponents(comps []string) (out []string, changed bool, err error) {
	for _, c := range comps {
		s, err := safeComponent(c)
		if err != nil {
			return nil, false, err
		}
		if s != c {
			changed = true
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, changed, nil
}

func safeComponent(c string) (string, error) {
	if strings.IndexByte(c, 0) >= 0 {
		return "", fmt.Errorf("path component %s contains a NUL byte", printable(c))
	}
	parts := strings.FieldsFunc(c, func(r rune) bool { return r == '/' || r == '\\' })
	for _, p := range parts {
		if p == ".." {
			return "", fmt.Errorf("path component %s climbs out of the download directory", printable(c))
		}
	}
	var keep []string
	for _, p := range parts {
		if p != "." {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return "", nil // empty, ".", or separators only
	}
	if c[0] == '/' || c[0] == '\\' {
		return "", fmt.Errorf("path component %s is absolute", printable(c))
	}
	// Bytes that are not UTF-8 (old torrents in a local code page) become
	// "_", as libtorrent makes them.
	s := validUTF8(strings.Join(keep, "_"))
	if len(s) >= 2 && s[1] == ':' {
		return "", fmt.Errorf("path component %s looks like a drive letter", printable(c))
	}
	return truncateName(s, maxComponent), nil
}

// validUTF8 replaces each byte of s that is not part of a UTF-8
// character with "_", as libtorrent does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte('_')
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// truncateName shortens name to at most n bytes at a character boundary,
// keeping a short extension so the file still opens with the right
// program.
func truncateName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 || !utf8.ValidString(ext) {
		ext = ""
	}
	base := name[:n-len(ext)]
	for len(base) > 0 && !utf8.ValidString(base) {
		base = base[:len(base)-1]
	}
	return base + ext
}

// pathSet hands out unique paths for a torrent's files: a second file at
// a path another file holds is renamed as libtorrent renames it
// (bar.txt becomes bar.1.txt), and a file where another needs a folder is
// refused.
type pathSet struct {
	files, dirs map[string]bool
}

func newPathSet() *pathSet { return &pathSet{files: map[string]bool{}, dirs: map[string]bool{}} }

func (ps *pathSet) claim(p []string) ([]string, error) {
	for j := 1; j < len(p); j++ {
		if dir := strings.Join(p[:j], "/"); ps.files[dir] {
			return nil, fmt.Errorf("%s is both a file and a folder", printable(dir))
		}
	}
	key := strings.Join(p, "/")
	if ps.files[key] || ps.dirs[key] {
		last := p[len(p)-1]
		ext := path.Ext(last)
		if ext == last {
			ext = "" // ".hidden" has no extension
		}
		stem := last[:len(last)-len(ext)]
		for n := 1; ; n++ {
			cand := truncateName(fmt.Sprintf("%s.%d%s", stem, n, ext), maxComponent)
			p = append(append([]string(nil), p[:len(p)-1]...), cand)
			if key = strings.Join(p, "/"); !ps.files[key] && !ps.dirs[key] {
				break
			}
		}
	}
	ps.files[key] = true
	for j := 1; j < len(p); j++ {
		ps.dirs[strings.Join(p[:j], "/")] = true
	}
	if _, err := piece.CheckPath(p); err != nil {
		return nil, err
	}
	return p, nil
}
