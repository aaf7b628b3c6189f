package swarm

import (
	"testing"
	"time"

	"github.com/shoal-torrent/shoal/piece/piecetest"
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
