package tracker

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// lists are the access lists, swapped whole on Reload so announces never
// see a half-read file.
type lists struct {
	passkeys map[string]bool
	allow    map[InfoHash]bool // nil: every torrent allowed (unless denied)
	deny     map[InfoHash]bool
}

func (l *lists) allowed(h InfoHash) bool {
	if l.allow != nil && !l.allow[h] {
		return false
	}
	return !l.deny[h]
}

// Reload rereads the passkey, allow and deny files. Swarms are untouched;
// on error the old lists stay in force.
func (s *Server) Reload() error {
	l := &lists{passkeys: map[string]bool{}, deny: map[InfoHash]bool{}}
	if s.cfg.PasskeysFile != "" {
		keys, err := readLines(s.cfg.PasskeysFile)
		if err != nil {
			return err
		}
		for _, k := range keys {
			l.passkeys[k] = true
		}
	}
	for _, f := range []struct {
		path string
		into *map[InfoHash]bool
	}{{s.cfg.AllowlistFile, &l.allow}, {s.cfg.DenylistFile, &l.deny}} {
		if f.path == "" {
			continue
		}
		lines, err := readLines(f.path)
		if err != nil {
			return err
		}
		m := map[InfoHash]bool{}
		for i, line := range lines {
			b, err := hex.DecodeString(line)
			if err != nil || len(b) != 20 {
				return fmt.Errorf("%s: entry %d is not a 40-digit hex infohash", f.path, i+1)
			}
			m[InfoHash(b)] = true
		}
		*f.into = m
	}
	s.lists.Store(l)
	return nil
}

// readLines returns the non-empty lines of a file, without # comments.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, strings.ToLower(line))
		}
	}
	return out, sc.Err()
}
