package piece

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ErrUnsafePath is wrapped by every refusal of a path taken from a torrent.
// A hostile .torrent must never make shoal write outside its save directory,
// so such torrents are refused outright rather than "fixed".
var ErrUnsafePath = errors.New("unsafe path")

// maxComponent bounds one path component; common file systems cap names at
// 255 bytes and a longer one would only fail later, mid-download.
const maxComponent = 255

// CheckPath refuses path components from a torrent that could escape the
// save directory or that no file system would accept: empty, "." or "..",
// containing a separator or NUL, absolute, or a Windows drive or device
// prefix. It returns the relative OS path when the components are safe.
func CheckPath(components []string) (string, error) {
	if len(components) == 0 {
		return "", fmt.Errorf("%w: empty path", ErrUnsafePath)
	}
	for _, c := range components {
		if err := checkComponent(c); err != nil {
			return "", fmt.Errorf("%w: %q: %v", ErrUnsafePath, strings.Join(components, "/"), err)
		}
	}
	rel := filepath.Join(components...)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %q leaves the download directory", ErrUnsafePath, rel)
	}
	return rel, nil
}

func checkComponent(c string) error {
	switch {
	case c == "":
		return errors.New("empty path component")
	case c == "." || c == "..":
		return fmt.Errorf("path component %q", c)
	case len(c) > maxComponent:
		return fmt.Errorf("path component longer than %d bytes", maxComponent)
	case strings.ContainsAny(c, "/\\\x00"):
		return errors.New("path component contains a separator or NUL")
	case !utf8.ValidString(c):
		return errors.New("path component is not valid UTF-8")
	case len(c) >= 2 && c[1] == ':':
		return errors.New("path component looks like a drive letter")
	}
	return nil
}
