package swarm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// paddedStream is f's torrent as one byte stream, zeros in its pad files
// and on after its end to a whole number of pieces.
func paddedStream(t *testing.T, f *fixture) []byte {
	t.Helper()
	l := f.m.Layout
	b := make([]byte, int64(l.NumPieces)*l.PieceLength)
	for _, fl := range l.Files {
		if fl.Pad || fl.Length == 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(f.dir, filepath.Join(fl.Path...)))
		if err != nil {
			t.Fatal(err)
		}
		copy(b[fl.Offset:], data)
	}
	return b
}

// A torrent with v2 metadata serves its last piece up to the piece
// length, zeros past the data, as libtorrent asks for it; over plain TCP
// the blocks inside the data go by sendfile and the tail through a
// buffer. Beyond the piece length is still a violation, and a v1 torrent
// keeps BEP 3's rule that the last piece ends with the data.
func TestLastPieceServedToPieceLength(t *testing.T) {
	files := []piecetest.FileSpec{{Path: "tail/a.bin", Size: 50000}, {Path: "tail/b.bin", Size: 70000}}
	const pl = 32 << 10
	for _, v := range []meta.Version{meta.VersionV1, meta.VersionV2, meta.VersionHybrid} {
		t.Run(v.String(), func(t *testing.T) {
			f := newFixtureV(t, v, pl, files...)
			s, seed := startSeeder(t, f, withEncryption(EncryptionTolerated), withoutUTP)
			l := f.m.Layout
			last := uint32(l.NumPieces - 1)
			// A hybrid's last piece ends with a pad file (libtorrent 2.0.8
			// pads there too), a v2-only one's with the data.
			if v != meta.VersionV1 && l.DataSize(int(last)) > piece.BlockSize {
				t.Fatalf("fixture's last piece holds %d bytes of data: want one block or less, so the tail is zeros", l.DataSize(int(last)))
			}
			stream := paddedStream(t, f)
			c, r := dialPlain(t, s.Addr().String(), f)
			asks := []upload{{0, 0, piece.BlockSize}, {last, 0, piece.BlockSize}, {last, piece.BlockSize, piece.BlockSize}}
			if v == meta.VersionV1 {
				asks = asks[:1]
			}
			var reqs []byte
			for _, u := range asks {
				reqs = wire.AppendRequest(reqs, wire.Request, u.index, u.begin, u.length)
			}
			c.Write(reqs)
			for _, u := range asks {
				var m wire.Message
				for m.ID != wire.Piece {
					if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
						t.Fatalf("waiting for block %+v: %v", u, err)
					}
					if m.ID == wire.Reject {
						t.Fatalf("block %+v refused (seeder error: %q)", u, seed.Snapshot().Error)
					}
				}
				off := int64(u.index)*pl + int64(u.begin)
				if m.Index != u.index || m.Begin != u.begin || !bytes.Equal(m.Data, stream[off:off+int64(u.length)]) {
					t.Fatalf("asked for %+v, got piece %d at %d, %d bytes, or wrong bytes", u, m.Index, m.Begin, len(m.Data))
				}
			}
			// Past the piece length for v2, past the data for v1.
			bad := upload{last, pl - piece.BlockSize/2, piece.BlockSize}
			if v == meta.VersionV1 {
				bad = upload{last, piece.BlockSize, piece.BlockSize}
			}
			c.Write(wire.AppendRequest(nil, wire.Request, bad.index, bad.begin, bad.length))
			if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("request %+v served or ignored, not dropped", bad)
			}
			waitTick(seed)
			if snap := seed.Snapshot(); snap.Violations != 1 || snap.Error != "" {
				t.Fatalf("seeder: %d violations, want 1; error %q", snap.Violations, snap.Error)
			}
			// Counted after the write, so only now surely.
			if haveSendfile && seed.uploadedFromFile.Load() != piece.BlockSize {
				t.Fatalf("sendfile sent %d bytes, want the one block inside the data", seed.uploadedFromFile.Load())
			}
		})
	}
}
