package swarm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/mse"

	"github.com/shoal-torrent/shoal/swarm/wire"
)

// logBuf collects a session's log so a test can look for the reason a
// connection failed.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitLog polls the log for substr until the deadline.
func waitLog(t *testing.T, l *logBuf, substr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(l.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no %q after %v:\n%s", substr, within, l.String())
		}
		<-tick.C
	}
}

func withEncryption(e Encryption) func(*SessionConfig) {
	return func(c *SessionConfig) { c.Encryption = e }
}

// rc4Only makes anacrolix's client insist on encrypted headers and an RC4
// stream in both directions, like rtorrent or libtorrent set to require
// encryption.
func rc4Only(cfg *torrent.ClientConfig) {
	cfg.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: true, RequirePreferred: true}
	cfg.CryptoProvides = mse.CryptoMethodRC4
	cfg.CryptoSelector = func(offered mse.CryptoMethod) mse.CryptoMethod {
		if offered&mse.CryptoMethodRC4 != 0 {
			return mse.CryptoMethodRC4
		}
		return 0
	}
}

func TestEncryptionPolicyValidate(t *testing.T) {
	for _, e := range []Encryption{EncryptionPreferred, EncryptionRequired, EncryptionTolerated} {
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	cfg := DefaultSessionConfig()
	if cfg.Encryption != EncryptionPreferred {
		t.Fatalf("default policy %q, want preferred", cfg.Encryption)
	}
	cfg.Encryption = "always"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `"always"`) {
		t.Fatalf("unknown policy accepted: %v", err)
	}
}

func TestAnacrolixEncryptedSeedsShoalDownloads(t *testing.T) {
	f := newFixture(t, 128<<10, interopFiles...)
	cl := anacrolixClient(t, f.dir, true, rc4Only)
	at := anacrolixTorrent(t, cl, f)
	if err := at.VerifyDataContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-at.Complete().On()
	s := newTestSession(t, withEncryption(EncryptionRequired))
	dl := t.TempDir()
	tor := addTorrent(t, s, f.m, dl, anacrolixAddr(t, cl))
	waitComplete(t, tor, 30*time.Second)
	sameContent(t, f, dl)
}

func TestShoalSeedsAnacrolixEncryptedDownloads(t *testing.T) {
	f := newFixture(t, 128<<10, interopFiles...)
	s, seeder := startSeeder(t, f, withEncryption(EncryptionRequired))
	dl := t.TempDir()
	cl := anacrolixClient(t, dl, false, rc4Only)
	at := anacrolixTorrent(t, cl, f)
	at.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(s.Addr().String()), Trusted: true}})
	at.DownloadAll()
	waitAnacrolix(t, at, seeder, 30*time.Second)
	cl.Close()
	sameContent(t, f, dl)
}

// TestEncryptRequiredAndTolerated moves data both ways between a shoal
// that requires encryption and one that merely tolerates it: the
// required side dials, as tolerated never dials encrypted.
func TestEncryptRequiredAndTolerated(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	t.Run("tolerated seeds", func(t *testing.T) {
		s, _ := startSeeder(t, f, withEncryption(EncryptionTolerated))
		dl := t.TempDir()
		tor := addTorrent(t, newTestSession(t, withEncryption(EncryptionRequired)), f.m, dl, s.Addr())
		waitComplete(t, tor, 30*time.Second)
		sameContent(t, f, dl)
	})
	t.Run("required seeds", func(t *testing.T) {
		dl := t.TempDir()
		leech := addTorrent(t, newTestSession(t, withEncryption(EncryptionTolerated)), f.m, dl)
		seeder := newTestSession(t, withEncryption(EncryptionRequired))
		addTorrent(t, seeder, f.m, f.dir, leech.s.Addr())
		waitComplete(t, leech, 30*time.Second)
		sameContent(t, f, dl)
	})
}

// TestEncryptedPeerShowsE connects two shoals that have nothing to trade
// (neither holds data), so the connection stays up for the snapshot.
func TestEncryptedPeerShowsE(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	for _, tc := range []struct {
		name          string
		dialer, other Encryption
		want          bool
	}{
		{"required", EncryptionRequired, EncryptionTolerated, true},
		{"preferred", EncryptionPreferred, EncryptionPreferred, true},
		{"tolerated", EncryptionTolerated, EncryptionPreferred, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := addTorrent(t, newTestSession(t, withEncryption(tc.other)), f.m, t.TempDir())
			b := addTorrent(t, newTestSession(t, withEncryption(tc.dialer)), f.m, t.TempDir(), a.s.Addr())
			for _, tor := range []*Torrent{a, b} {
				p := waitPeer(t, tor)
				if p.Encrypted != tc.want || strings.Contains(p.Flags(), "E") != tc.want {
					t.Fatalf("peer %+v flags %q, want encrypted %v", p, p.Flags(), tc.want)
				}
			}
		})
	}
}

func waitPeer(t *testing.T, tor *Torrent) PeerSnapshot {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if ps := tor.Snapshot().Peers; len(ps) > 0 {
			return ps[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("no peer connected within 10 s")
		}
		<-tick.C
	}
}

// TestEncryptRequiredRefusesPlainPeers checks both directions against
// peers that speak only plain BitTorrent: our dial fails with a reason
// that says so, and their plain handshake is refused and logged.
func TestEncryptRequiredRefusesPlainPeers(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	t.Run("dial", func(t *testing.T) {
		cl := anacrolixClient(t, f.dir, true, func(c *torrent.ClientConfig) {
			c.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false, RequirePreferred: true}
		})
		anacrolixTorrent(t, cl, f)
		var log logBuf
		s := newTestSession(t, withEncryption(EncryptionRequired), func(c *SessionConfig) { c.Logger = log.logger() })
		_, err := s.dialHandshake(context.Background(), f.m.InfoHash, anacrolixAddr(t, cl))
		if !errors.Is(err, ErrPeerNoEncryption) {
			t.Fatalf("dial error %v, want %v", err, ErrPeerNoEncryption)
		}
		tor := addTorrent(t, s, f.m, t.TempDir(), anacrolixAddr(t, cl))
		waitLog(t, &log, "peer does not speak encryption", 10*time.Second)
		if n := len(tor.Snapshot().Peers); n != 0 {
			t.Fatalf("%d peers connected in plain", n)
		}
	})
	t.Run("accept", func(t *testing.T) {
		var log logBuf
		s := newTestSession(t, withEncryption(EncryptionRequired), func(c *SessionConfig) { c.Logger = log.logger() })
		tor := addTorrent(t, s, f.m, f.dir)
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: f.m.InfoHash}
		if _, err := nc.Write(hs.Append(nil)); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := nc.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d bytes of an answer to a plain handshake", n)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("plain handshake neither answered nor closed")
		}
		waitLog(t, &log, "plain handshake refused: encryption is required", 10*time.Second)
		if n := len(tor.Snapshot().Peers); n != 0 {
			t.Fatalf("%d peers connected in plain", n)
		}
	})
}

// TestMSEHandshakeReadsBounded feeds a receiving handshake endless junk
// that never synchronises: it must give up after the key and the 512
// bytes of padding MSE allows, not read on until the deadline.
func TestMSEHandshakeReadsBounded(t *testing.T) {
	s := newTestSession(t)
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() { defer close(done); s.incoming(server) }()
	junk := make([]byte, 1<<20)
	rand.Read(junk)
	junk[0] = 0 // not a plain handshake
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	// net.Pipe is unbuffered: what was written is what the server read,
	// plus what its key exchange wrote back to an unread pipe.
	go io.Copy(io.Discard, client)
	n, _ := client.Write(junk)
	<-done
	if max := 20 + 96 + maxMSEPad + 20; n > max {
		t.Fatalf("server read %d bytes of junk, want at most %d", n, max)
	}
}

// countingConn counts what was written through it.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// TestMSEInitialPayloadBounded sends a real key exchange whose initial
// payload claims 60000 bytes. The library would read them all; the
// handshake must stop at maxMSERead and the connection go nowhere.
func TestMSEInitialPayloadBounded(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	s := newTestSession(t)
	addTorrent(t, s, f.m, f.dir)
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() { defer close(done); s.incoming(server) }()
	cc := &countingConn{Conn: client}
	cc.SetDeadline(time.Now().Add(5 * time.Second))
	rw, _, err := mse.InitiateHandshake(cc, f.m.InfoHash[:], make([]byte, 60000), mse.CryptoMethodRC4)
	if err == nil {
		_, err = rw.Read(make([]byte, 1)) // the answer to our "handshake"
	}
	<-done
	if err == nil {
		t.Fatal("a 60000-byte initial payload was answered")
	}
	if n := cc.n.Load(); n > maxMSERead {
		t.Fatalf("server read %d bytes of handshake, want at most %d", n, maxMSERead)
	}
}

// rawPeer opens a connection to s for infoHash, encrypted or plain, sends
// its handshake and an extension handshake, and returns a reader for what
// s says after its own handshake.
func rawPeer(t *testing.T, s *Session, infoHash [20]byte, numPieces int, encrypted bool, ext wire.ExtHandshake) (*wire.Reader, net.Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	hs := wire.Handshake{Reserved: wire.OurReserved(), InfoHash: infoHash}
	rand.Read(hs.PeerID[:])
	out := wire.AppendPayload(hs.Append(nil), wire.Extended, 0, ext.Encode())
	var rw io.ReadWriter = nc
	if encrypted {
		rw, _, err = mse.InitiateHandshake(nc, infoHash[:], out, mse.CryptoMethodRC4)
	} else {
		_, err = nc.Write(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	var theirs wire.Handshake
	if err := wire.ReadHandshakeStart(rw, &theirs); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadPeerID(rw, &theirs); err != nil {
		t.Fatal(err)
	}
	return wire.NewReader(rw, numPieces), nc
}

// TestPexFlagsEncryptedPeers: a peer that reached us encrypted is passed
// on through PEX with flag 0x01, and our extension handshake says e=1.
func TestPexFlagsEncryptedPeers(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	s := newTestSession(t)
	addTorrent(t, s, f.m, t.TempDir())
	n := f.m.Layout.NumPieces
	const port = 51413
	rawPeer(t, s, f.m.InfoHash, n, true, wire.ExtHandshake{M: map[string]int{}, P: port})
	r, _ := rawPeer(t, s, f.m.InfoHash, n, false, wire.ExtHandshake{M: map[string]int{"ut_pex": 1}})
	sawE := false
	for {
		var m wire.Message
		if err := r.Read(&m, func(n int) []byte { return make([]byte, n) }); err != nil {
			t.Fatalf("no PEX naming the encrypted peer: %v", err)
		}
		if m.ID != wire.Extended {
			continue
		}
		if m.ExtID == 0 {
			h, err := wire.ParseExtHandshake(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			sawE = h.E == 1
			continue
		}
		p, err := wire.ParsePex(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range p.Added {
			if a.Port() == port {
				if p.Flags[i]&wire.PexEncryption == 0 {
					t.Fatalf("encrypted peer passed on with flags %#x", p.Flags[i])
				}
				if !sawE {
					t.Fatal("our extension handshake did not say e=1")
				}
				return
			}
		}
	}
}

func TestAnnounceSaysCrypto(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	for _, tc := range []struct {
		policy  Encryption
		require bool
	}{{EncryptionPreferred, false}, {EncryptionTolerated, false}, {EncryptionRequired, true}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			queries := make(chan string, 16)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case queries <- r.URL.RawQuery:
				default:
				}
				w.Write([]byte("d8:intervali1800e5:peers0:e"))
			}))
			defer srv.Close()
			m := *f.m
			m.Trackers = [][]string{{srv.URL + "/announce"}}
			s := newTestSession(t, withEncryption(tc.policy))
			cfg := DefaultTorrentConfig(f.dir)
			if _, err := s.Add(&m, cfg); err != nil {
				t.Fatal(err)
			}
			var q string
			select {
			case q = <-queries:
			case <-time.After(10 * time.Second):
				t.Fatal("no announce within 10 s")
			}
			if !strings.Contains(q, "supportcrypto=1") {
				t.Errorf("announce %q lacks supportcrypto=1", q)
			}
			if got := strings.Contains(q, "requirecrypto=1"); got != tc.require {
				t.Errorf("announce %q: requirecrypto=1 is %v, want %v", q, got, tc.require)
			}
		})
	}
}

// TestMagnetFromEncryptedAnacrolix fetches metadata from a peer that
// requires encryption, under both policies that dial encrypted.
func TestMagnetFromEncryptedAnacrolix(t *testing.T) {
	f := newFixture(t, 64<<10, interopFiles...)
	cl := anacrolixClient(t, f.dir, true, rc4Only)
	at := anacrolixTorrent(t, cl, f)
	at.VerifyDataContext(context.Background())
	<-at.Complete().On()
	for _, e := range []Encryption{EncryptionRequired, EncryptionPreferred} {
		if _, err := fetch(t, newTestSession(t, withEncryption(e)), f, 20*time.Second, anacrolixAddr(t, cl)); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
}
