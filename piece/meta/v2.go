package meta

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/anacrolix/torrent/merkle"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
)

// V2 is the BEP 52 side of a v2-only or hybrid torrent.
type V2 struct {
	// InfoHash is the SHA-256 of the info dictionary. The v2 swarm, its
	// trackers and the DHT know it by its first 20 bytes (Truncated).
	InfoHash [32]byte
	// Files lists the file tree's files in tree order, which is the
	// order of the layout's non-pad files.
	Files []V2File
	// PieceHashes holds, for each piece of the torrent's layout, the hash
	// piece.VerifyV2 checks it against: its entry in the piece layer, or
	// its file's pieces root for a file no longer than a piece. It is nil
	// when the piece layers are not known (an info dictionary fetched for
	// a magnet link); peers send them in hash messages.
	PieceHashes [][piece.HashSizeV2]byte
}

// Truncated is the v2 infohash cut to the 20 bytes of a v1 one, as BEP 52
// uses it in handshakes, tracker announces and the DHT.
func (v *V2) Truncated() metainfo.Hash { return metainfo.Hash(v.InfoHash[:20]) }

// V2File is one file of a v2 file tree.
type V2File struct {
	// Path holds the components as the tree spells them, below the
	// torrent's top folder; Layout indexes the safe path on disk.
	Path   []string
	Layout int
	Length int64
	// Root is the file's merkle root ("pieces root"), zero when empty.
	Root [piece.HashSizeV2]byte
	// Layer is the file's piece layer: 32 bytes a piece, only for files
	// longer than one piece, and only when the piece layers are known.
	Layer []byte
}

// MaxMetaVersion is the newest BEP 52 "meta version" shoal reads.
const MaxMetaVersion = 2

// treeFile is a file read from a file tree.
type treeFile struct {
	path   []string
	length int64
	root   [32]byte
	attr   string
}

// readFileTree walks a BEP 52 file tree (depth bounded by CheckBencode)
// into its files in tree order.
func readFileTree(raw []byte) ([]treeFile, error) {
	var files []treeFile
	var walk func(node []byte, path []string) error
	walk = func(node []byte, path []string) error {
		where := func() string { return printable(strings.Join(path, "/")) }
		if len(node) == 0 || node[0] != 'd' {
			return fmt.Errorf("file tree entry %s is %s, not a dictionary", where(), typeName(node))
		}
		var (
			err   error
			prev  string
			first = true
			props []byte
			kids  int
		)
		eachEntry(node, func(key string, v []byte) {
			if err != nil {
				return
			}
			if !first && key <= prev {
				err = fmt.Errorf("file tree keys under %s are not sorted or repeat", where())
				return
			}
			first, prev = false, key
			if key == "" {
				props = v
				return
			}
			kids++
			err = walk(v, append(path[:len(path):len(path)], key))
		})
		switch {
		case err != nil:
			return err
		case props != nil && (kids > 0 || len(path) == 0):
			return fmt.Errorf("file tree entry %s is both a file and a folder", where())
		case props == nil:
			return nil
		}
		f := treeFile{path: path}
		var hasLength, hasRoot bool
		eachEntry(props, func(key string, v []byte) {
			var ok bool
			switch key {
			case "length":
				f.length, ok = rawInt(v)
				hasLength = ok && f.length >= 0
			case "pieces root":
				var b []byte
				b, ok = rawBytes(v)
				if ok && len(b) == 32 {
					f.root, hasRoot = [32]byte(b), true
				} else {
					err = fmt.Errorf("file %s: pieces root is not 32 bytes", where())
				}
			case "attr":
				f.attr, _ = rawString(v)
			}
		})
		switch {
		case err != nil:
			return err
		case !hasLength:
			return fmt.Errorf("file %s has no valid length", where())
		case f.length > 0 && !hasRoot:
			return fmt.Errorf("file %s has no pieces root", where())
		}
		files = append(files, f)
		return nil
	}
	if err := walk(raw, nil); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the file tree holds no files")
	}
	return files, nil
}

// v2Layout lays out a v2-only torrent's files one after another, each
// starting on a piece boundary behind a pad file, as a hybrid's v1 list
// would; storage and picking then treat both kinds alike.
func v2Layout(tree []treeFile, name string, pieceLength int64, warnings *[]string) ([]piece.File, error) {
	single := len(tree) == 1 && len(tree[0].path) == 1 && tree[0].path[0] == name
	paths := newPathSet()
	var files []piece.File
	var off int64
	for i, tf := range tree {
		comps, changed, err := safeComponents(tf.path)
		if err == nil && len(comps) == 0 {
			err = fmt.Errorf("path %s has no usable name", printable(strings.Join(tf.path, "/")))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: file tree: %v", ErrInvalidTorrent, err)
		}
		p := append([]string{name}, comps...)
		if single {
			p = comps
		}
		claimed, err := paths.claim(p)
		if err != nil {
			return nil, fmt.Errorf("%w: file tree: %v", ErrInvalidTorrent, err)
		}
		if changed || claimed[len(claimed)-1] != p[len(p)-1] {
			*warnings = append(*warnings, fmt.Sprintf("file %s saved as %s", printable(strings.Join(tf.path, "/")), printable(strings.Join(claimed, "/"))))
		}
		files = append(files, piece.File{Path: claimed, Length: tf.length})
		off += tf.length
		if r := off % pieceLength; r != 0 && i < len(tree)-1 {
			files = append(files, padFile(name, pieceLength-r))
			off += pieceLength - r
		}
	}
	return files, nil
}

// padFile is a BEP 47 pad file named as libtorrent names them.
func padFile(top string, n int64) piece.File {
	return piece.File{Path: []string{top, ".pad", strconv.FormatInt(n, 10)}, Length: n, Pad: true}
}

// checkHybrid refuses a hybrid whose v1 file list and v2 file tree
// describe different files: the two swarms would download different
// torrents under one name.
func checkHybrid(info *decodedInfo, tree []treeFile) error {
	var v1 []int // layout indexes of data files
	for i, f := range info.layout {
		if !f.Pad {
			v1 = append(v1, i)
		}
	}
	if len(v1) != len(tree) {
		return fmt.Errorf("%w: hybrid torrent lists %d files for v1 but %d in its v2 file tree", ErrInvalidTorrent, len(v1), len(tree))
	}
	for k, li := range v1 {
		var orig []string
		if info.hasFiles {
			orig = info.Files[li].BestPath() // one entry per layout file
		} else {
			orig = []string{info.Name}
		}
		tf := tree[k]
		if strings.Join(orig, "/") != strings.Join(tf.path, "/") || info.layout[li].Length != tf.length {
			return fmt.Errorf("%w: hybrid torrent's v1 file %d is %s (%d bytes) but its v2 file tree has %s (%d bytes)", ErrInvalidTorrent,
				k, printable(strings.Join(orig, "/")), info.layout[li].Length, printable(strings.Join(tf.path, "/")), tf.length)
		}
	}
	return nil
}

// buildV2 ties a torrent's v2 files to its layout and, when the piece
// layers are given, checks them against the roots and lists the hash of
// every piece. layers is nil when they are not known.
func buildV2(infoBytes []byte, l *piece.Layout, tree []treeFile, layers map[[32]byte][]byte) (*V2, error) {
	if err := piece.CheckV2Layout(l); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTorrent, err)
	}
	v := &V2{InfoHash: sha256.Sum256(infoBytes)}
	k := 0
	for i, f := range l.Files {
		if f.Pad {
			continue
		}
		tf := tree[k]
		k++
		v.Files = append(v.Files, V2File{Path: tf.path, Layout: i, Length: tf.length, Root: tf.root})
	}
	pl := l.PieceLength
	if layers == nil {
		for _, f := range v.Files {
			if f.Length > pl {
				return v, nil // only peers can tell the piece hashes
			}
		}
		// Every file fits in a piece: the roots are the piece hashes.
	}
	want := make([][32]byte, l.NumPieces)
	set := make([]bool, l.NumPieces)
	used := map[[32]byte]bool{}
	padHash := metainfo.HashForPiecePad(pl)
	for j := range v.Files {
		vf := &v.Files[j]
		if vf.Length == 0 {
			continue
		}
		first := int(l.Files[vf.Layout].Offset / pl)
		n := int((vf.Length + pl - 1) / pl)
		name := printable(strings.Join(vf.Path, "/"))
		if vf.Length <= pl {
			want[first], set[first] = vf.Root, true
			continue
		}
		layer, ok := layers[vf.Root]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: file %s has no piece layer", ErrInvalidTorrent, name)
		case len(layer) != n*32:
			return nil, fmt.Errorf("%w: piece layer of file %s is %d bytes, want %d (%d pieces)", ErrInvalidTorrent, name, len(layer), n*32, n)
		}
		hashes := make([][32]byte, n)
		for p := range hashes {
			hashes[p] = [32]byte(layer[p*32 : p*32+32])
		}
		if merkle.RootWithPadHash(hashes, padHash) != vf.Root {
			return nil, fmt.Errorf("%w: piece layer of file %s does not hash to its pieces root", ErrInvalidTorrent, name)
		}
		used[vf.Root] = true
		vf.Layer = layer
		for p, h := range hashes {
			want[first+p], set[first+p] = h, true
		}
	}
	for root := range layers {
		if !used[root] {
			return nil, fmt.Errorf("%w: piece layers hold a layer for no file of the file tree longer than a piece", ErrInvalidTorrent)
		}
	}
	for p, ok := range set {
		if !ok {
			return nil, fmt.Errorf("%w: piece %d holds no file's data (too much padding)", ErrInvalidTorrent, p)
		}
	}
	v.PieceHashes = want
	return v, nil
}

// readPieceLayers reads the top-level "piece layers": 32-byte roots to
// concatenated hashes, sharing data.
func readPieceLayers(raw []byte) (map[[32]byte][]byte, error) {
	if len(raw) == 0 || raw[0] != 'd' {
		return nil, fmt.Errorf("%w: piece layers is %s, not a dictionary", ErrInvalidTorrent, typeName(raw))
	}
	layers := map[[32]byte][]byte{}
	var err error
	eachEntry(raw, func(key string, v []byte) {
		b, ok := rawBytes(v)
		switch {
		case err != nil:
		case len(key) != 32:
			err = fmt.Errorf("%w: a piece layers key is %d bytes, not a 32-byte root", ErrInvalidTorrent, len(key))
		case !ok || len(b)%32 != 0 || len(b) == 0:
			err = fmt.Errorf("%w: a piece layer is not a string of 32-byte hashes", ErrInvalidTorrent)
		default:
			if old, dup := layers[[32]byte([]byte(key))]; dup && !bytes.Equal(old, b) {
				err = fmt.Errorf("%w: two piece layers for one root", ErrInvalidTorrent)
			}
			layers[[32]byte([]byte(key))] = b
		}
	})
	return layers, err
}
