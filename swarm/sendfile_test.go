package swarm

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// TestPlainTCPUploadsUseSendfile: between two shoal peers that do not
// encrypt, the seeder hands block ranges to the socket from its files;
// blocks that span files (or cross a pad) still go through a buffer, and
// the leecher gets every byte right either way. With RC4 nothing may
// bypass the cipher.
func TestPlainTCPUploadsUseSendfile(t *testing.T) {
	if !haveSendfile {
		t.Skip("no sendfile here")
	}
	files := []piecetest.FileSpec{{Path: "d/a.bin", Size: 1<<20 + 7}, {Path: "d/b.bin", Size: 100}, {Path: "d/c.bin", Size: 2<<20 + 333}}
	for _, tc := range []struct {
		name     string
		enc      Encryption
		fromFile bool
	}{
		{"plain", EncryptionTolerated, true},
		{"rc4", EncryptionRequired, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 64<<10, files...)
			seedS, seed := startSeeder(t, f, withEncryption(tc.enc), withoutUTP)
			leechS := newTestSession(t, withEncryption(tc.enc), withoutUTP)
			dl := t.TempDir()
			leecher := addTorrent(t, leechS, f.m, dl, seedS.Addr())
			waitComplete(t, leecher, 30*time.Second)
			sameContent(t, f, dl)
			sent, total := seed.uploadedFromFile.Load(), f.m.Layout.Total
			if tc.fromFile && sent < total/2 {
				t.Fatalf("sendfile sent %d of %d bytes", sent, total)
			}
			if !tc.fromFile && sent != 0 {
				t.Fatalf("sendfile sent %d bytes over RC4", sent)
			}
		})
	}
}

// TestSendfileSeesATruncationBetweenBatches: over plain TCP uploads go by
// sendfile, which reads a file's size once per batch of uploads. A file
// truncated after one batch was served must still have the next request
// for the lost range refused (not sent short, which would cost the
// connection), and the torrent show the error.
func TestSendfileSeesATruncationBetweenBatches(t *testing.T) {
	if !haveSendfile {
		t.Skip("no sendfile here")
	}
	f := newFixture(t, 64<<10, piecetest.FileSpec{Path: "t.bin", Size: 1 << 20})
	s, seed := startSeeder(t, f, withEncryption(EncryptionTolerated), withoutUTP)
	c, r := dialPlain(t, s.Addr().String(), f)
	l := f.m.Layout
	next := func(want wire.ID) *wire.Message {
		t.Helper()
		for {
			var m wire.Message
			if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
				t.Fatalf("waiting for message %d: %v", want, err)
			}
			if m.ID == want || m.ID == wire.Piece || m.ID == wire.Reject {
				if m.ID != want {
					t.Fatalf("got message %d, want %d", m.ID, want)
				}
				return &m
			}
		}
	}
	_, n := l.BlockSpan(0, 0)
	c.Write(wire.AppendRequest(nil, wire.Request, 0, 0, uint32(n)))
	next(wire.Piece)
	if seed.uploadedFromFile.Load() == 0 {
		t.Fatal("the first block did not go by sendfile")
	}
	if err := os.Truncate(filepath.Join(f.dir, "t.bin"), l.PieceOffset(2)); err != nil {
		t.Fatal(err)
	}
	last := l.NumPieces - 1
	_, n = l.BlockSpan(last, 0)
	c.Write(wire.AppendRequest(nil, wire.Request, uint32(last), 0, uint32(n)))
	next(wire.Reject)
	// Still connected: the seeder answers a request for data it still
	// has.
	c.Write(wire.AppendRequest(nil, wire.Request, 1, 0, uint32(n)))
	next(wire.Piece)
	waitFor(t, seed, 10*time.Second, "the error state", func(st *Snapshot) bool { return st.State == StateError })
}
