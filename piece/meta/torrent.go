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
	Meta     *metainfo.MetaInfo
	Info     metainfo.Info
	InfoHash metainfo.Hash
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
}

// Load reads and checks a .torrent file.
func Load(path string) (*Torrent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// An oversized file is refused unread, and one of known size is read
	// into a buffer of that size rather than through repeated growth.
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > MaxTorrentSize {
			return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrInvalidTorrent, path, MaxTorrentSize>>20)
		}
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(io.LimitReader(f, MaxTorrentSize+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrInvalidTorrent, path, MaxTorrentSize>>20)
	}
	return Parse(data)
}

// Parse checks and decodes the bytes of a .torrent file. The torrent
// keeps its info dictionary as a part of data, so the caller must not
// change data afterwards.
func Parse(data []byte) (*Torrent, error) {
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrInvalidTorrent, MaxTorrentSize>>20)
	}
	if err := CheckBencode(data, MaxDepth); err != nil {
		return nil, fmt.Errorf("%w: not a torrent file: %v", ErrInvalidTorrent, err)
	}
	start, end, n := dictEntry(data, "info")
	if n > 1 {
		// Clients would disagree on which one the infohash covers.
		return nil, fmt.Errorf("%w: %d info dictionaries", ErrInvalidTorrent, n)
	}
	info := data[start:end:end]
	if err := checkPieceCount(info); err != nil {
		return nil, err
	}
	// The rest is decoded with an empty dictionary in the info's place, and
	// the info is kept as the bytes it is: the decoder would copy it
	// several times over, and it is most of a big torrent.
	rest := data
	if n > 0 {
		rest = make([]byte, 0, len(data)-len(info)+2)
		rest = append(append(append(rest, data[:start]...), "de"...), data[end:]...)
	}
	var mi metainfo.MetaInfo
	if err := bencode.Unmarshal(rest, &mi); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTorrent, err)
	}
	if n > 0 {
		mi.InfoBytes = info
	}
	if len(mi.InfoBytes) == 0 {
		return nil, fmt.Errorf("%w: no info dictionary", ErrInvalidTorrent)
	}
	t, err := FromInfoBytes(mi.InfoBytes)
	if err != nil {
		return nil, err
	}
	t.Meta = &mi
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
// or fetched from peers for a magnet link, and lays it out.
func FromInfoBytes(infoBytes []byte) (*Torrent, error) {
	if err := CheckBencode(infoBytes, MaxDepth); err != nil {
		return nil, fmt.Errorf("%w: info dictionary: %v", ErrInvalidTorrent, err)
	}
	if err := checkPieceCount(infoBytes); err != nil {
		return nil, err
	}
	var info metainfo.Info
	if err := bencode.Unmarshal(infoBytes, &info); err != nil {
		return nil, fmt.Errorf("%w: info dictionary: %v", ErrInvalidTorrent, err)
	}
	t := &Torrent{
		Meta:     &metainfo.MetaInfo{InfoBytes: infoBytes},
		Info:     info,
		InfoHash: metainfo.HashBytes(infoBytes),
		Name:     info.BestName(),
		Private:  info.Private != nil && *info.Private,
	}
	switch {
	case len(info.Pieces) == 0:
		return nil, fmt.Errorf("%w: no v1 piece hashes (v2-only torrents are not supported)", ErrInvalidTorrent)
	case info.PieceLength <= 0 || info.PieceLength > MaxPieceLength:
		return nil, fmt.Errorf("%w: piece length %d outside 1 B .. %d MiB", ErrInvalidTorrent, info.PieceLength, MaxPieceLength>>20)
	case len(info.Pieces)%piece.HashSize != 0:
		return nil, fmt.Errorf("%w: piece hashes are %d bytes, not a multiple of 20", ErrInvalidTorrent, len(info.Pieces))
	case len(info.Pieces)/piece.HashSize > MaxPieces:
		return nil, tooManyPieces(len(info.Pieces) / piece.HashSize)
	case len(info.Files) > 0 && info.Length != 0:
		return nil, fmt.Errorf("%w: both a length and a file list", ErrInvalidTorrent)
	}
	files, err := layoutFiles(&info)
	if err != nil {
		return nil, err
	}
	l, err := piece.NewLayout(info.PieceLength, files)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTorrent, err)
	}
	if l.Total == 0 {
		return nil, fmt.Errorf("%w: torrent holds no data", ErrInvalidTorrent)
	}
	if got := len(info.Pieces) / piece.HashSize; got != l.NumPieces {
		return nil, fmt.Errorf("%w: %d piece hashes for %d pieces of data", ErrInvalidTorrent, got, l.NumPieces)
	}
	// The decoder copied the hashes out of infoBytes, which the torrent
	// keeps anyway: share them instead, 20 bytes a piece.
	if v, ok := dictValue(infoBytes, "pieces"); ok {
		if raw := v[bytes.IndexByte(v, ':')+1:]; bytes.Equal(raw, info.Pieces) {
			info.Pieces = raw[:len(raw):len(raw)]
			t.Info.Pieces = info.Pieces
		}
	}
	t.Layout = l
	t.Hashes = info.Pieces
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

// layoutFiles turns the info's file list into checked layout files. The
// top folder of a multi-file torrent is its name, as every client does it.
func layoutFiles(info *metainfo.Info) ([]piece.File, error) {
	name := info.BestName()
	if _, err := piece.CheckPath([]string{name}); err != nil {
		return nil, fmt.Errorf("%w: name: %v", ErrInvalidTorrent, err)
	}
	if len(info.Files) == 0 {
		return []piece.File{{Path: []string{name}, Length: info.Length}}, nil
	}
	files := make([]piece.File, 0, len(info.Files))
	seenFiles := map[string]bool{}
	seenDirs := map[string]bool{}
	for i := range info.Files {
		fi := &info.Files[i]
		path := append([]string{name}, fi.BestPath()...)
		if _, err := piece.CheckPath(path); err != nil {
			return nil, fmt.Errorf("%w: file %d: %v", ErrInvalidTorrent, i, err)
		}
		pad := strings.Contains(fi.Attr, "p")
		if !pad {
			// Two files at one path, or a file where another needs a
			// folder, would overwrite each other's pieces.
			key := strings.Join(path, "/")
			if seenFiles[key] || seenDirs[key] {
				return nil, fmt.Errorf("%w: path %q is used twice", ErrInvalidTorrent, key)
			}
			seenFiles[key] = true
			for j := 1; j < len(path); j++ {
				dir := strings.Join(path[:j], "/")
				if seenFiles[dir] {
					return nil, fmt.Errorf("%w: %q is both a file and a folder", ErrInvalidTorrent, dir)
				}
				seenDirs[dir] = true
			}
		}
		files = append(files, piece.File{Path: path, Length: fi.Length, Pad: pad})
	}
	return files, nil
}

// Magnet returns the torrent's magnet link, with its trackers and name.
func (t *Torrent) Magnet() string {
	m := metainfo.Magnet{InfoHash: t.InfoHash, DisplayName: t.Name}
	for _, tier := range t.Trackers {
		m.Trackers = append(m.Trackers, tier...)
	}
	return m.String()
}

// Write encodes the torrent as a .torrent file.
func (t *Torrent) Write(w io.Writer) error {
	return t.Meta.Write(w)
}
