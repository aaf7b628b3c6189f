package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
)

// Piece length bounds for created torrents. BEP 52 and most clients want a
// power of two of at least one block.
const (
	MinCreatePieceLength = piece.BlockSize
	MaxCreatePieceLength = 16 << 20
	// targetPieces is what auto piece sizing aims below: enough pieces to
	// spread a swarm, few enough to keep the .torrent and bitfields small.
	targetPieces = 2000
)

// AutoPieceLength picks the smallest power of two that keeps total under
// about 2,000 pieces, within 16 KiB .. 16 MiB.
func AutoPieceLength(total int64) int64 {
	want := max((total+targetPieces-1)/targetPieces, MinCreatePieceLength)
	p := int64(1) << uint(64-bits.LeadingZeros64(uint64(want-1)))
	return min(p, MaxCreatePieceLength)
}

// CreateOptions describes a torrent to make from local files.
type CreateOptions struct {
	// Path is the file or directory to share.
	Path string
	// Trackers become one BEP 12 tier each, in order.
	Trackers    []string
	PieceLength int64 // 0 picks AutoPieceLength
	Private     bool
	Comment     string
	WebSeeds    []string
	CreatedBy   string
	Now         time.Time
	// Version picks v1 (the default), v2 or hybrid metadata.
	Version Version
	// Workers and Progress are passed to the hashing pass.
	Workers  int
	Progress *atomic.Int64
}

// Validate checks the options before any file is read. Path is checked
// by Create, which reads it.
func (o *CreateOptions) Validate() error {
	if pl := o.PieceLength; pl != 0 && (pl < MinCreatePieceLength || pl > MaxCreatePieceLength || pl&(pl-1) != 0) {
		return fmt.Errorf("piece size %d must be a power of two from 16 KiB to 16 MiB", pl)
	}
	if o.Version < VersionV1 || o.Version > VersionHybrid {
		return fmt.Errorf("unknown torrent version %v", o.Version)
	}
	for _, u := range append(append([]string(nil), o.Trackers...), o.WebSeeds...) {
		if !strings.Contains(u, "://") {
			return fmt.Errorf("%q is not a URL", u)
		}
	}
	return nil
}

// Content is what a torrent will share: a file or a directory's files in
// torrent order, found by Scan. A caller can show its size before hashing
// starts, then hand it to CreateFrom without walking the tree twice.
type Content struct {
	// Name is the file's or top folder's name; Dir holds it.
	Name, Dir string
	Files     []piece.File
	// executable marks files with an execute bit, by index into Files;
	// v2 and hybrid torrents carry it as attribute "x", as libtorrent's.
	executable map[int]bool
}

func (c *Content) exec(i int) bool { return c.executable[i] }

// Total is the content's size in bytes.
func (c *Content) Total() int64 {
	var total int64
	for _, f := range c.Files {
		total += f.Length
	}
	return total
}

// Scan lists the files a torrent of path would share, in torrent order.
func Scan(path string) (*Content, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	c := &Content{Name: filepath.Base(abs), Dir: filepath.Dir(abs)}
	if _, err := piece.CheckPath([]string{c.Name}); err != nil {
		return nil, fmt.Errorf("cannot share %s: %w", path, err)
	}
	c.executable = map[int]bool{}
	if fi.Mode().IsRegular() {
		if fi.Size() == 0 {
			return nil, fmt.Errorf("%s is empty: no data to share", path)
		}
		c.Files = []piece.File{{Path: []string{c.Name}, Length: fi.Size()}}
		c.executable[0] = fi.Mode()&0o111 != 0
		return c, nil
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is neither a file nor a directory", path)
	}
	// WalkDir visits in lexical order, which is the order every client
	// expects for reproducible infohashes.
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Stat(p) // follow links to files, as mktorrent does
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(c.Dir, p)
		if err != nil {
			return err
		}
		comps := strings.Split(filepath.ToSlash(rel), "/")
		if _, err := piece.CheckPath(comps); err != nil {
			return fmt.Errorf("cannot share %s: %w", p, err)
		}
		c.executable[len(c.Files)] = info.Mode()&0o111 != 0
		c.Files = append(c.Files, piece.File{Path: comps, Length: info.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.Total() == 0 {
		return nil, fmt.Errorf("%s holds no data to share", path)
	}
	return c, nil
}

// Create scans o.Path and hashes it into a torrent.
func Create(ctx context.Context, o CreateOptions) (*Torrent, error) {
	if o.Path == "" {
		return nil, errors.New("no path to share")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c, err := Scan(o.Path)
	if err != nil {
		return nil, err
	}
	return CreateFrom(ctx, c, o)
}

// CreateFrom hashes scanned content into a torrent; o.Path is not used.
func CreateFrom(ctx context.Context, c *Content, o CreateOptions) (*Torrent, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	name, files := c.Name, c.Files
	pl := o.PieceLength
	if pl == 0 {
		pl = AutoPieceLength(c.Total())
	}
	if o.Version != VersionV1 {
		return createV2(ctx, c, o, pl)
	}
	l, err := piece.NewLayout(pl, files)
	if err != nil {
		return nil, err
	}
	src, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: c.Dir})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	sums, err := piece.HashPieces(ctx, src, l, piece.HashOptions{Workers: o.Workers, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	hashes := make([]byte, 0, len(sums)*piece.HashSize)
	for i, s := range sums {
		if s.Err != nil {
			return nil, fmt.Errorf("read piece %d: %w", i, s.Err)
		}
		hashes = append(hashes, s.Sum[:]...)
	}

	info := metainfo.Info{PieceLength: pl, Pieces: hashes, Name: name}
	if len(files) == 1 && len(files[0].Path) == 1 {
		info.Length = files[0].Length
	} else {
		for _, f := range files {
			info.Files = append(info.Files, metainfo.FileInfo{Length: f.Length, Path: f.Path[1:]})
		}
	}
	if o.Private {
		private := true
		info.Private = &private
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encode info: %w", err)
	}
	mi := o.metaInfo(infoBytes)
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, fmt.Errorf("encode torrent: %w", err)
	}
	// Parse our own output: what we hand out passes the checks we apply
	// to everyone else's.
	return Parse(buf.Bytes())
}

// metaInfo wraps an encoded info dictionary in the options' top-level
// fields.
func (o *CreateOptions) metaInfo(infoBytes []byte) metainfo.MetaInfo {
	mi := metainfo.MetaInfo{InfoBytes: infoBytes, Comment: o.Comment, CreatedBy: o.CreatedBy, UrlList: o.WebSeeds}
	if !o.Now.IsZero() {
		mi.CreationDate = o.Now.Unix()
	}
	if len(o.Trackers) > 0 {
		mi.Announce = o.Trackers[0]
	}
	if len(o.Trackers) > 1 {
		for _, u := range o.Trackers {
			mi.AnnounceList = append(mi.AnnounceList, []string{u})
		}
	}
	return mi
}
