package meta

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/dustin/go-humanize"

	"github.com/shoal-torrent/shoal/piece"
)

// MaxTorrentSize bounds a .torrent file read from disk or a peer. The
// largest real ones (hundreds of thousands of pieces and files) are a few
// tens of MiB.
const MaxTorrentSize = 64 << 20

// MaxPieceLength bounds the piece size a torrent may declare; every peer
// buffers whole pieces, so a hostile 4 GiB piece must be refused up front.
const MaxPieceLength = 64 << 20

// MaxPieces is the most pieces a torrent may declare (2^21, as in
// libtorrent); see piece.MaxPieces for why.
const MaxPieces = piece.MaxPieces

// ErrInvalidTorrent is wrapped by every refusal of a .torrent's contents.
var ErrInvalidTorrent = errors.New("invalid torrent")

// Torrent is a checked v1 torrent: its identity, where its bytes go and what
// they must hash to. Everything in it has been validated, so later code
// never re-checks paths or sizes.
type Torrent struct {
	// Meta is the whole decoded file, kept so it can be written back.
	Meta *metainfo.MetaInfo
	// Info holds the info dictionary's v1 fields as shoal decoded them.
	// Its v2 file tree is left empty (Layout and V2 hold the files), so
	// anacrolix's helpers that read it, such as IsDir, answer wrongly for
	// v2 and hybrid torrents: ask Layout (Layout.Folder) instead.
	Info metainfo.Info
	// InfoHash is the 20-byte hash the swarm knows the torrent by: the
	// SHA-1 of the info for v1 and hybrid torrents, the truncated v2
	// infohash for v2-only ones (as libtorrent's best hash).
	InfoHash metainfo.Hash
	// HasV1 tells v1 and hybrid torrents from v2-only ones, which have no
	// v1 piece hashes (Hashes is empty).
	HasV1 bool
	// V2 is set for v2-only and hybrid torrents.
	V2 *V2
	// Name is the torrent's display name, and for a multi-file torrent the
	// name of its top folder.
	Name   string
	Layout *piece.Layout
	// Hashes holds the concatenated 20-byte SHA-1 of every piece.
	Hashes []byte
	// Trackers holds announce URLs by BEP 12 tier.
	Trackers     [][]string
	WebSeeds     []string
	Private      bool
	Comment      string
	CreatedBy    string
	CreationDate time.Time
	// Warnings lists, one line each, what was skipped or changed to load
	// the torrent as other clients do: fields of the wrong type, bytes
	// after its end, file names made safe. Each line is printable.
	Warnings []string
}

// Load reads and checks a .torrent file.
func Load(path string) (*Torrent, error) { return LoadWith(path, ParseOptions{}) }

// readTorrentFile reads a .torrent within MaxTorrentSize.
func readTorrentFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := ReadTorrent(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// ReadTorrent reads a .torrent's bytes from r, at most MaxTorrentSize, so
// that every caller (a path given over the RPC, a watch directory, a URL)
// bounds it alike. A file of known size over the bound is refused unread,
// and one under it read into a buffer of its size rather than through
// repeated growth.
func ReadTorrent(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if fi.Size() > MaxTorrentSize {
				return nil, fmt.Errorf("%w: larger than %d MiB", ErrInvalidTorrent, MaxTorrentSize>>20)
			}
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxTorrentSize+1)); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if buf.Len() > MaxTorrentSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrInvalidTorrent, MaxTorrentSize>>20)
	}
	return buf.Bytes(), nil
}

// Parse checks and decodes the bytes of a .torrent file. The torrent
// keeps its info dictionary as a part of data, so the caller must not
// change data afterwards.
//
// Like libtorrent, it loads what is harmless although not by the book:
// bytes after the top-level dictionary and optional fields of the wrong
// type are skipped, and unsafe file names made safe, each noted in
// Torrent.Warnings. Only what downloading needs must be right.
func Parse(data []byte) (*Torrent, error) {
	return ParseWith(data, ParseOptions{})
}

// ParseOptions widens what Parse accepts.
type ParseOptions struct {
	// AllowV2Only accepts v2-only torrents: callers that can check
	// pieces by merkle roots (and answer hash requests) ask for them.
	AllowV2Only bool
}

// LoadWith is Load with options.
func LoadWith(path string, opts ParseOptions) (*Torrent, error) {
	data, err := readTorrentFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(data, opts)
}

// ParseWith is Parse with options.
func ParseWith(data []byte, opts ParseOptions) (*Torrent, error) {
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrInvalidTorrent, MaxTorrentSize>>20)
	}
	end, err := ValueLen(data, MaxDepth)
	if err != nil {
		return nil, fmt.Errorf("%w: not a torrent file: %v", ErrInvalidTorrent, err)
	}
	if data[0] != 'd' {
		return nil, fmt.Errorf("%w: not a torrent file: %s, not a dictionary", ErrInvalidTorrent, typeName(data))
	}
	var warnings []string
	if end < len(data) {
		// A trailing newline, or a second copy from a bad download: the
		// infohash covers only the info, so nothing depends on them.
		warnings = append(warnings, fmt.Sprintf("ignored %s after the end of the torrent", plural(len(data)-end, "byte", "bytes")))
		data = data[:end:end]
	}
	start, iend, n := dictEntry(data, "info")
	switch {
	case n > 1:
		// Clients would disagree on which one the infohash covers.
		return nil, fmt.Errorf("%w: %d info dictionaries", ErrInvalidTorrent, n)
	case n == 0:
		return nil, fmt.Errorf("%w: no info dictionary", ErrInvalidTorrent)
	}
	rawLayers, hasLayers := dictValue(data, "piece layers")
	if !hasLayers {
		rawLayers = nil
	}
	t, err := fromInfo(data[start:iend:iend], opts, rawLayers)
	if err != nil {
		return nil, err
	}
	mi := t.Meta
	t.Warnings = append(warnings, t.Warnings...)
	warn := func(format string, args ...any) { t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...)) }
	skip := func(key string, v []byte, want string) {
		warn("ignored %s: %s, not %s", key, typeName(v), want)
	}
	eachEntry(data, func(key string, v []byte) {
		switch key {
		case "announce":
			if s, ok := rawString(v); ok {
				mi.Announce = s
			} else {
				skip(key, v, "a URL")
			}
		case "announce-list":
			var bad int
			if !eachItem(v, func(tier []byte) {
				urls, b, ok := rawStrings(tier)
				if !ok {
					bad++
					return
				}
				bad += b
				if len(urls) > 0 {
					mi.AnnounceList = append(mi.AnnounceList, urls)
				}
			}) {
				skip(key, v, "a list of tiers")
			} else if bad > 0 {
				warn("ignored %s of announce-list that %s not a URL", plural(bad, "entry", "entries"), plural0(bad, "is", "are"))
			}
		case "url-list":
			if s, ok := rawString(v); ok {
				if s != "" {
					mi.UrlList = []string{s}
				}
			} else if urls, bad, ok := rawStrings(v); ok {
				mi.UrlList = urls
				if bad > 0 {
					warn("ignored %s of url-list that %s not a URL", plural(bad, "entry", "entries"), plural0(bad, "is", "are"))
				}
			} else {
				skip(key, v, "a URL or a list of URLs")
			}
		case "comment", "created by", "encoding":
			s, ok := rawString(v)
			switch {
			case !ok:
				skip(key, v, "a string")
			case key == "comment":
				mi.Comment = s
			case key == "created by":
				mi.CreatedBy = s
			default:
				mi.Encoding = s
			}
		case "creation date":
			if d, ok := rawInt(v); ok {
				mi.CreationDate = d
			} else {
				skip(key, v, "an integer")
			}
		case "nodes":
			if err := bencode.Unmarshal(v, &mi.Nodes); err != nil {
				mi.Nodes = nil
				skip(key, v, "a list of DHT nodes")
			}
		}
	})
	for _, tier := range mi.UpvertedAnnounceList() {
		var urls []string
		for _, u := range tier {
			if u = strings.TrimSpace(u); u != "" {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			t.Trackers = append(t.Trackers, urls)
		}
	}
	t.WebSeeds = append([]string(nil), mi.UrlList...)
	t.Comment = mi.Comment
	t.CreatedBy = mi.CreatedBy
	if mi.CreationDate > 0 {
		t.CreationDate = time.Unix(mi.CreationDate, 0)
	}
	return t, nil
}

// FromInfoBytes checks a bencoded info dictionary, as found in a .torrent
// or fetched from peers for a magnet link, and lays it out. A v2-only info
// is refused, since only v1 and hybrid torrents can be downloaded.
func FromInfoBytes(infoBytes []byte) (*Torrent, error) {
	return fromInfo(infoBytes, ParseOptions{}, nil)
}

// errV2Only refuses a v2-only torrent where it would have to be
// downloaded.
var errV2Only = fmt.Errorf("%w: v2-only torrent where only v1 and hybrid ones are read", ErrInvalidTorrent)

// fromInfo is FromInfoBytes with options and, for a .torrent with v2
// content, its raw "piece layers" (nil when there are none).
func fromInfo(infoBytes []byte, opts ParseOptions, rawLayers []byte) (*Torrent, error) {
	if err := CheckBencode(infoBytes, MaxDepth); err != nil {
		return nil, fmt.Errorf("%w: info dictionary: %v", ErrInvalidTorrent, err)
	}
	if infoBytes[0] != 'd' {
		return nil, fmt.Errorf("%w: info is %s, not a dictionary", ErrInvalidTorrent, typeName(infoBytes))
	}
	if err := checkPieceCount(infoBytes); err != nil {
		return nil, err
	}
	t := &Torrent{
		Meta:     &metainfo.MetaInfo{InfoBytes: infoBytes},
		InfoHash: metainfo.HashBytes(infoBytes),
		HasV1:    true,
	}
	info, err := decodeInfo(infoBytes, &t.Warnings)
	if err != nil {
		return nil, err
	}
	t.Info = info.Info
	t.Name = info.BestName()
	t.Private = info.Private != nil && *info.Private
	var tree []treeFile
	rawTree, hasTree := dictValue(infoBytes, "file tree")
	switch mv := info.MetaVersion; {
	case mv > MaxMetaVersion:
		return nil, fmt.Errorf("%w: meta version %d is newer than shoal reads (%d)", ErrInvalidTorrent, mv, MaxMetaVersion)
	case mv == 2 && !hasTree:
		return nil, fmt.Errorf("%w: meta version 2 but no file tree", ErrInvalidTorrent)
	case mv == 2:
		if tree, err = readFileTree(rawTree); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidTorrent, err)
		}
	case hasTree:
		t.Warnings = append(t.Warnings, "ignored the v2 file tree: meta version is not 2")
	}
	if pl := info.PieceLength; pl <= 0 || pl > MaxPieceLength {
		return nil, fmt.Errorf("%w: piece length %d outside 1 B .. %d MiB", ErrInvalidTorrent, pl, MaxPieceLength>>20)
	}
	files := info.layout
	switch {
	case info.hasPieces:
		switch {
		case len(info.Pieces) == 0:
			return nil, fmt.Errorf("%w: no piece hashes (\"pieces\" is empty)", ErrInvalidTorrent)
		case len(info.Pieces)%piece.HashSize != 0:
			return nil, fmt.Errorf("%w: piece hashes are %d bytes, not a multiple of 20", ErrInvalidTorrent, len(info.Pieces))
		case len(info.Pieces)/piece.HashSize > MaxPieces:
			return nil, tooManyPieces(len(info.Pieces) / piece.HashSize)
		}
		if tree != nil {
			if err := checkHybrid(info, tree); err != nil {
				return nil, err
			}
		}
	case tree != nil:
		if !opts.AllowV2Only {
			return nil, errV2Only
		}
		t.HasV1 = false
		if info.hasFiles || info.hasLength {
			t.Warnings = append(t.Warnings, "ignored the v1 file list of a torrent without v1 piece hashes")
		}
		if pl := info.PieceLength; pl < piece.BlockSize || pl&(pl-1) != 0 {
			return nil, fmt.Errorf("%w: piece length %d is not a power of two of at least 16 KiB, as v2 needs", ErrInvalidTorrent, pl)
		}
		name, err := safeName(info.BestName())
		if err != nil {
			return nil, err
		}
		if files, err = v2Layout(tree, name, info.PieceLength, &t.Warnings); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: no piece hashes (the info has neither \"pieces\" nor a v2 file tree)", ErrInvalidTorrent)
	}
	l, err := piece.NewLayout(info.PieceLength, files)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTorrent, err)
	}
	if l.Total == 0 {
		return nil, fmt.Errorf("%w: torrent holds no data", ErrInvalidTorrent)
	}
	if got := len(info.Pieces) / piece.HashSize; t.HasV1 && got != l.NumPieces {
		return nil, fmt.Errorf("%w: %d piece hashes for %d pieces of data", ErrInvalidTorrent, got, l.NumPieces)
	}
	t.Layout = l
	t.Hashes = info.Pieces
	if tree != nil {
		var layers map[[32]byte][]byte
		if rawLayers != nil {
			if layers, err = readPieceLayers(rawLayers); err != nil {
				return nil, err
			}
		}
		if t.V2, err = buildV2(infoBytes, l, tree, layers); err != nil {
			return nil, err
		}
		if len(layers) > 0 {
			t.Meta.PieceLayers = make(map[string]string, len(layers))
			for root, layer := range layers {
				t.Meta.PieceLayers[string(root[:])] = string(layer)
			}
		}
		if !t.HasV1 {
			t.InfoHash = t.V2.Truncated()
		}
	}
	return t, nil
}

func tooManyPieces(n int) error {
	return fmt.Errorf("%w: %s pieces, more than the %s shoal accepts", ErrInvalidTorrent,
		humanize.Comma(int64(n)), humanize.Comma(MaxPieces))
}

// checkPieceCount refuses an info dictionary (already through
// CheckBencode) that declares more than MaxPieces pieces, reading only the
// length prefix of its "pieces" string: a hostile one is turned away
// before the decoder copies tens of MiB of hashes, and before the file
// list is laid out.
func checkPieceCount(info []byte) error {
	v, ok := dictValue(info, "pieces")
	if !ok {
		return nil
	}
	colon := bytes.IndexByte(v, ':')
	if colon < 0 {
		return nil // not a string; the decoder refuses it
	}
	if n := parseDigits(v[:colon]) / piece.HashSize; n > MaxPieces {
		return tooManyPieces(int(n))
	}
	return nil
}

// dictValue returns the raw bencoded value of key in the dictionary d,
// which CheckBencode has accepted. With a repeated key the largest value
// is returned, so no duplicate can smuggle a bigger one past a check.
func dictValue(d []byte, key string) ([]byte, bool) {
	start, end, n := dictEntry(d, key)
	return d[start:end:end], n > 0
}

// dictEntry finds key in the dictionary d as dictValue does and returns
// where its (largest) value starts and ends, and how often key occurs.
func dictEntry(d []byte, key string) (start, end, n int) {
	if len(d) == 0 || d[0] != 'd' {
		return 0, 0, 0
	}
	for pos := 1; pos < len(d) && d[pos] != 'e'; {
		kl, err := ValueLen(d[pos:], MaxDepth)
		if err != nil {
			return 0, 0, 0
		}
		k := d[pos : pos+kl]
		pos += kl
		vl, err := ValueLen(d[pos:], MaxDepth)
		if err != nil {
			return 0, 0, 0
		}
		if colon := bytes.IndexByte(k, ':'); colon >= 0 && string(k[colon+1:]) == key {
			if n++; n == 1 || vl > end-start {
				start, end = pos, pos+vl
			}
		}
		pos += vl
	}
	return start, end, n
}

// Write encodes the torrent as a .torrent file.
func (t *Torrent) Write(w io.Writer) error {
	return t.Meta.Write(w)
}
