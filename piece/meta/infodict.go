package meta

import (
	"fmt"
	"strings"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
)

// decodedInfo is an info dictionary read field by field: what downloading
// needs must have its type, the rest is skipped with a warning.
type decodedInfo struct {
	metainfo.Info
	hasPieces bool
	hasFiles  bool
	hasLength bool
	// layout is the checked file list, paths made safe.
	layout []piece.File
}

// decodeInfo reads d, which CheckBencode accepted, sharing its piece
// hashes rather than copying them.
func decodeInfo(d []byte, warnings *[]string) (*decodedInfo, error) {
	var (
		info     decodedInfo
		errs     []string
		rawFiles []byte
	)
	bad := func(key string, v []byte, want string) {
		errs = append(errs, fmt.Sprintf("%s is %s, not %s", key, typeName(v), want))
	}
	skip := func(key string, v []byte, want string) {
		*warnings = append(*warnings, fmt.Sprintf("ignored info %s: %s, not %s", key, typeName(v), want))
	}
	eachEntry(d, func(key string, v []byte) {
		var ok bool
		switch key {
		case "name":
			if info.Name, ok = rawString(v); !ok {
				bad(key, v, "a string")
			}
		case "name.utf-8":
			if info.NameUtf8, ok = rawString(v); !ok {
				skip(key, v, "a string")
			}
		case "piece length":
			if info.PieceLength, ok = rawInt(v); !ok {
				bad(key, v, "an integer")
			}
		case "pieces":
			if info.Pieces, ok = rawBytes(v); !ok {
				bad(key, v, "a string")
			}
			info.hasPieces = ok
		case "length":
			if info.Length, ok = rawInt(v); !ok {
				bad(key, v, "an integer")
			}
			info.hasLength = ok
		case "files":
			if !eachItem(v, func([]byte) {}) {
				bad(key, v, "a list")
			}
			rawFiles, info.hasFiles = v, true
		case "private":
			if p, ok := rawInt(v); ok {
				private := p == 1
				info.Private = &private
			} else {
				skip(key, v, "an integer")
			}
		case "source":
			if info.Source, ok = rawString(v); !ok {
				skip(key, v, "a string")
			}
		case "attr":
			if info.Attr, ok = rawString(v); !ok {
				skip(key, v, "a string")
			}
		case "meta version":
			if info.MetaVersion, ok = rawInt(v); !ok {
				skip(key, v, "an integer")
			}
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: info %s", ErrInvalidTorrent, strings.Join(errs, "; "))
	}
	if info.hasFiles && info.hasLength {
		return nil, fmt.Errorf("%w: both a length and a file list", ErrInvalidTorrent)
	}
	name, err := safeName(info.BestName())
	if err != nil {
		return nil, err
	}
	if name != info.BestName() {
		*warnings = append(*warnings, fmt.Sprintf("name %s saved as %s", printable(info.BestName()), printable(name)))
	}
	if !info.hasFiles {
		info.layout = []piece.File{{Path: []string{name}, Length: info.Length}}
		return &info, nil
	}
	if err := info.decodeFiles(rawFiles, name, warnings); err != nil {
		return nil, err
	}
	return &info, nil
}

// safeName makes the torrent's name, its single file or top folder, safe
// as a path component.
func safeName(name string) (string, error) {
	s, err := safeComponent(name)
	if err == nil && s == "" {
		err = fmt.Errorf("name %s is empty", printable(name))
	}
	if err == nil {
		_, err = piece.CheckPath([]string{s})
	}
	if err != nil {
		return "", fmt.Errorf("%w: name: %v", ErrInvalidTorrent, err)
	}
	return s, nil
}

// decodeFiles reads a multi-file torrent's list into info.Files and lays
// it out below the folder top. Legacy pad files become padding; BEP 47
// symlinks become links of no length whose targets must stay inside the
// save path.
func (info *decodedInfo) decodeFiles(raw []byte, top string, warnings *[]string) error {
	paths := newPathSet()
	idx := 0
	var ferr error
	eachItem(raw, func(v []byte) {
		if ferr != nil {
			return
		}
		i := idx
		idx++
		fi, hasPath, err := decodeFile(v, i, warnings)
		if err != nil {
			ferr = err
			return
		}
		if !hasPath {
			ferr = fmt.Errorf("%w: file %d has no path", ErrInvalidTorrent, i)
			return
		}
		info.Files = append(info.Files, fi)
		orig := fi.BestPath()
		comps, changed, err := safeComponents(orig)
		if err != nil {
			ferr = fmt.Errorf("%w: file %d: %v", ErrInvalidTorrent, i, err)
			return
		}
		if len(comps) == 0 {
			ferr = fmt.Errorf("%w: file %d: path %s has no usable name", ErrInvalidTorrent, i, printable(strings.Join(orig, "/")))
			return
		}
		f := piece.File{Path: append([]string{top}, comps...), Length: fi.Length}
		f.Pad = strings.Contains(fi.Attr, "p") || strings.HasPrefix(comps[len(comps)-1], legacyPadPrefix)
		if f.Pad {
			info.layout = append(info.layout, f)
			return
		}
		if strings.Contains(fi.Attr, "l") {
			if fi.SymlinkPath == nil {
				*warnings = append(*warnings, fmt.Sprintf("file %d is marked a symlink but has no target: kept as a file", i))
			} else if emptyTarget(fi.SymlinkPath) {
				// It would link to the torrent's own top folder: a loop.
				*warnings = append(*warnings, fmt.Sprintf("file %d is marked a symlink with an empty target: kept as a file", i))
			} else {
				// BEP 47: the target is relative to the torrent's root.
				target, err := symlinkTarget(top, fi.SymlinkPath)
				if err != nil {
					ferr = fmt.Errorf("%w: file %d: %v", ErrInvalidTorrent, i, err)
					return
				}
				f.Symlink = target
				f.Length = 0
			}
		}
		claimed, err := paths.claim(f.Path)
		if err != nil {
			ferr = fmt.Errorf("%w: file %d: %v", ErrInvalidTorrent, i, err)
			return
		}
		if changed || len(claimed) != len(f.Path) || claimed[len(claimed)-1] != f.Path[len(f.Path)-1] {
			*warnings = append(*warnings, fmt.Sprintf("file %d: %s saved as %s", i,
				printable(strings.Join(orig, "/")), printable(strings.Join(claimed[1:], "/"))))
		}
		f.Path = claimed
		info.layout = append(info.layout, f)
	})
	if ferr != nil {
		return ferr
	}
	if len(info.layout) == 0 {
		return fmt.Errorf("%w: the file list is empty", ErrInvalidTorrent)
	}
	return nil
}

// decodeFile reads one entry of a file list; i numbers it in messages.
func decodeFile(v []byte, i int, warnings *[]string) (fi metainfo.FileInfo, hasPath bool, err error) {
	if len(v) == 0 || v[0] != 'd' {
		return fi, false, fmt.Errorf("%w: file %d is %s, not a dictionary", ErrInvalidTorrent, i, typeName(v))
	}
	hasLength := false
	skip := func(key string, v []byte, want string) {
		*warnings = append(*warnings, fmt.Sprintf("file %d: ignored %s: %s, not %s", i, key, typeName(v), want))
	}
	eachEntry(v, func(key string, v []byte) {
		if err != nil {
			return
		}
		var ok bool
		switch key {
		case "length":
			if fi.Length, ok = rawInt(v); !ok {
				err = fmt.Errorf("%w: file %d: length is %s, not an integer", ErrInvalidTorrent, i, typeName(v))
			}
			hasLength = true
		case "path":
			var n int
			fi.Path, n, ok = rawStrings(v)
			if !ok || n > 0 {
				err = fmt.Errorf("%w: file %d: path is not a list of strings", ErrInvalidTorrent, i)
			}
			hasPath = true
		case "path.utf-8":
			var n int
			if fi.PathUtf8, n, ok = rawStrings(v); !ok || n > 0 {
				fi.PathUtf8 = nil
				skip(key, v, "a list of strings")
			}
		case "attr":
			if fi.Attr, ok = rawString(v); !ok {
				skip(key, v, "a string")
			}
		case "symlink path":
			var n int
			if fi.SymlinkPath, n, ok = rawStrings(v); !ok || n > 0 {
				fi.SymlinkPath = nil
				skip(key, v, "a list of strings")
			} else if fi.SymlinkPath == nil {
				fi.SymlinkPath = []string{}
			}
		case "sha1":
			if fi.Sha1, ok = rawString(v); !ok {
				skip(key, v, "a string")
			}
		}
	})
	if err == nil && !hasLength {
		err = fmt.Errorf("%w: file %d has no length", ErrInvalidTorrent, i)
	}
	return fi, hasPath, err
}

// emptyTarget reports a symlink path that names nothing: no components,
// or only empty and "." ones.
func emptyTarget(comps []string) bool {
	for _, c := range comps {
		if c != "" && c != "." {
			return false
		}
	}
	return true
}

// symlinkTarget resolves a BEP 47 symlink path against the torrent's top
// folder. ".." may climb within the save path, never out of it.
func symlinkTarget(top string, comps []string) ([]string, error) {
	out := []string{top}
	for _, c := range comps {
		switch c {
		case "..":
			if len(out) == 0 {
				return nil, fmt.Errorf("symlink target %s leaves the download directory", printable(strings.Join(comps, "/")))
			}
			out = out[:len(out)-1]
			continue
		case "", ".":
			continue
		}
		s, err := safeComponent(c)
		if err != nil {
			return nil, fmt.Errorf("symlink target: %v", err)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("symlink target %s is the download directory itself", printable(strings.Join(comps, "/")))
	}
	return out, nil
}
