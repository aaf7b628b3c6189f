package piece

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// linkText checks that a BEP 47 symlink at path pointing at target (both
// relative to the save directory) stays inside it, and returns the link's
// text relative to the folder that holds it, so the save directory can be
// moved without breaking its links.
func linkText(path, target []string) (string, error) {
	if len(target) == 0 {
		return "", fmt.Errorf("%w: symlink %q has no target", ErrUnsafePath, strings.Join(path, "/"))
	}
	to := filepath.Join(target...)
	if !filepath.IsLocal(to) {
		return "", fmt.Errorf("%w: symlink %q points outside the download directory", ErrUnsafePath, strings.Join(path, "/"))
	}
	for _, c := range target {
		if c != ".." && c != "." {
			if err := checkComponent(c); err != nil {
				return "", fmt.Errorf("%w: symlink %q: %v", ErrUnsafePath, strings.Join(path, "/"), err)
			}
		}
	}
	rel, err := filepath.Rel(filepath.Dir(filepath.Join(path...)), to)
	if err != nil {
		return "", fmt.Errorf("%w: symlink %q: %v", ErrUnsafePath, strings.Join(path, "/"), err)
	}
	return rel, nil
}

// createLink makes file i's symlink, replacing a link that points
// elsewhere. Where the system cannot make links (Windows without the
// privilege), an empty file stands in, as in libtorrent. Anything else
// already at the path is refused: it may be the user's.
func (s *FileStorage) createLink(i int) error {
	return s.withRoot(func(root *os.Root) error { return s.createLinkIn(root, i) })
}

func (s *FileStorage) createLinkIn(root *os.Root, i int) error {
	rel, text := s.rel[i], s.links[i]
	if d := filepath.Dir(rel); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", s.Path(i), err)
		}
	}
	if fi, err := root.Lstat(rel); err == nil {
		if fi.Mode()&fs.ModeSymlink == 0 {
			if fi.Mode().IsRegular() && fi.Size() == 0 {
				return nil // the stand-in of an earlier run
			}
			return fmt.Errorf("%s should be a symlink but something else is there; move it away and run again", s.Path(i))
		}
		if got, err := root.Readlink(rel); err == nil && got == text {
			return nil
		}
		if err := root.Remove(rel); err != nil {
			return fmt.Errorf("replace symlink %s: %w", s.Path(i), err)
		}
	}
	err := root.Symlink(text, rel)
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, fs.ErrPermission) {
		f, ferr := root.OpenFile(rel, os.O_RDWR|os.O_CREATE, 0o644)
		if ferr == nil {
			return f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("create symlink %s: %w", s.Path(i), err)
	}
	return nil
}
