package meta

import (
	"bytes"
	"context"
	"fmt"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/merkle"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/shoal-torrent/shoal/piece"
)

// Version chooses which BitTorrent metadata a created torrent carries.
type Version int

const (
	// VersionV1 is BEP 3 only: every client and tracker reads it, which is why
	// it stays the default.
	VersionV1 Version = iota
	// VersionV2 is BEP 52 only: per-file SHA-256 merkle trees, so identical
	// files share a hash across torrents and a bad block is found without
	// a whole piece. Clients before libtorrent 2.0 cannot read it.
	VersionV2
	// VersionHybrid carries both, with pad files so the v1 pieces and the v2
	// file trees describe the same bytes; every client joins one of its
	// two swarms.
	VersionHybrid
)

// String names the version as the create flags do.
func (v Version) String() string {
	switch v {
	case VersionV1:
		return "v1"
	case VersionV2:
		return "v2"
	case VersionHybrid:
		return "hybrid"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

// v2Files lays content out for v2: each file behind a pad file that puts
// the next one on a piece boundary, named and placed as libtorrent 2.0
// places them. A multi-file hybrid's last file is padded too, as
// libtorrent 2.0.8 pads it (its v1 view then ends on a whole piece); a
// v2-only torrent lists no pad files, so its layout needs none there.
func v2Files(c *Content, pl int64, hybrid bool) []piece.File {
	var files []piece.File
	var off int64
	single := len(c.Files) == 1 && len(c.Files[0].Path) == 1
	for i, f := range c.Files {
		files = append(files, f)
		off += f.Length
		if r := off % pl; r != 0 && (i < len(c.Files)-1 || hybrid && !single) {
			files = append(files, padFile(c.Name, pl-r))
			off += pl - r
		}
	}
	return files
}

// createV2 makes a v2-only or hybrid torrent of scanned content. Its info
// dictionary holds exactly libtorrent 2.0's keys for the same files and
// piece size, so both produce the same infohashes.
func createV2(ctx context.Context, c *Content, o CreateOptions, pl int64) (*Torrent, error) {
	l, err := piece.NewLayout(pl, v2Files(c, pl, o.Version == VersionHybrid))
	if err != nil {
		return nil, err
	}
	src, err := piece.OpenFileStorage(l, piece.FileStorageConfig{Dir: c.Dir})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	hybrid := o.Version == VersionHybrid
	sums, sha1s, err := piece.HashPiecesV2(ctx, src, l, piece.HashOptions{Workers: o.Workers, Progress: o.Progress}, hybrid)
	if err != nil {
		return nil, err
	}
	single := len(c.Files) == 1 && len(c.Files[0].Path) == 1
	tree := map[string]any{}
	layers := map[string]string{}
	var v1Files []any
	padHash := metainfo.HashForPiecePad(pl)
	k := 0 // index into c.Files
	for _, f := range l.Files {
		comps := f.Path[1:]
		if single {
			comps = f.Path
		}
		entry := map[string]any{"length": f.Length, "path": comps}
		if f.Pad {
			entry["attr"] = "p"
			v1Files = append(v1Files, entry)
			continue
		}
		props := map[string]any{"length": f.Length}
		if c.exec(k) {
			props["attr"] = "x"
			entry["attr"] = "x"
		}
		k++
		v1Files = append(v1Files, entry)
		if f.Length > 0 {
			first, n := int(f.Offset/pl), int((f.Length+pl-1)/pl)
			root := sums[first]
			if n > 1 {
				var layer bytes.Buffer
				for _, h := range sums[first : first+n] {
					layer.Write(h[:])
				}
				// A copy: RootWithPadHash appends its padding.
				root = merkle.RootWithPadHash(append([][32]byte(nil), sums[first:first+n]...), padHash)
				layers[string(root[:])] = layer.String()
			}
			props["pieces root"] = string(root[:])
		}
		node := tree
		for _, comp := range comps {
			next, ok := node[comp].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[comp] = next
			}
			node = next
		}
		node[""] = props
	}
	info := map[string]any{"file tree": tree, "meta version": int64(2), "name": c.Name, "piece length": pl}
	if o.Private {
		info["private"] = int64(1)
	}
	if hybrid {
		info["pieces"] = string(sha1s)
		if single {
			info["length"] = c.Files[0].Length
		} else {
			info["files"] = v1Files
		}
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encode info: %w", err)
	}
	mi := o.metaInfo(infoBytes)
	mi.PieceLayers = layers
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return nil, fmt.Errorf("encode torrent: %w", err)
	}
	return ParseWith(buf.Bytes(), ParseOptions{AllowV2Only: true})
}
