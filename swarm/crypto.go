package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/anacrolix/torrent/mse"
)

// Encryption is the message stream encryption (MSE/PE) policy, in
// Transmission's words, since those are the ones users already know.
type Encryption string

// The policies. Incoming connections are accepted plain or encrypted
// under every policy but EncryptionRequired, which refuses plain ones.
const (
	// EncryptionPreferred dials encrypted first and falls back to a plain
	// handshake when the peer does not speak MSE: the default of
	// Transmission and qBittorrent.
	EncryptionPreferred Encryption = "preferred"
	// EncryptionRequired never speaks plain BitTorrent, for users whose
	// network throttles or blocks it.
	EncryptionRequired Encryption = "required"
	// EncryptionTolerated dials plain (cheapest) and still accepts peers
	// that open with an encrypted handshake.
	EncryptionTolerated Encryption = "tolerated"
)

// Validate reports a policy shoal does not know.
func (e Encryption) Validate() error {
	switch e {
	case EncryptionPreferred, EncryptionRequired, EncryptionTolerated:
		return nil
	}
	return fmt.Errorf("unknown encryption policy %q (want preferred, required or tolerated)", string(e))
}

// extFlag is the extension handshake's "e": 1 when we prefer (or require)
// encrypted connections.
func (e Encryption) extFlag() int {
	if e == EncryptionTolerated {
		return 0
	}
	return 1
}

// markAnnounce adds requirecrypto=1 to an HTTP announce when we speak only
// encrypted, so the tracker can give us peers that do too (Vuze's
// extension, also sent by Transmission and libtorrent).
func (e Encryption) markAnnounce(req *http.Request) error {
	if e == EncryptionRequired {
		if req.URL.RawQuery != "" {
			req.URL.RawQuery += "&"
		}
		req.URL.RawQuery += "requirecrypto=1"
	}
	return nil
}

// ErrPeerNoEncryption is why a dial under EncryptionRequired fails against a
// peer that only speaks plain BitTorrent: it hangs up on our key exchange.
var ErrPeerNoEncryption = errors.New("peer does not speak encryption")

// Handshake bounds. The library limits the padding before each side's
// synchronisation marker (PadA, PadB) to 512 bytes but reads the lengths
// of PadC, PadD and the initial payload from the wire (up to 64 KiB each);
// limitedConn caps what a whole handshake may read instead, so a peer
// cannot make us discard or buffer more than this.
const (
	// maxMSEPad is BEP-less MSE's limit on every padding.
	maxMSEPad = 512
	// maxMSEInitial bounds the initial payload an initiator sends with
	// its key exchange: the 68-byte BitTorrent handshake and little else.
	maxMSEInitial = 1024
	// maxMSERead is the most a receiving handshake reads: Ya, PadA,
	// HASH('req1', S), HASH('req2')^HASH('req3'), VC, crypto_provide,
	// len(PadC), PadC, len(IA), IA.
	maxMSERead = 96 + maxMSEPad + 20 + 20 + 8 + 4 + 2 + maxMSEPad + 2 + maxMSEInitial
)

// limitedConn reads at most limit bytes while armed, so the library's
// handshake cannot be fed more than a bounded handshake needs. It is the
// conn the library wraps, so it stays under the stream once the
// handshake is done, disarmed.
type limitedConn struct {
	net.Conn
	mu    sync.Mutex // guards left, armed
	left  int
	armed bool
}

func (l *limitedConn) Read(b []byte) (int, error) {
	l.mu.Lock()
	armed, left := l.armed, l.left
	l.mu.Unlock()
	if armed {
		if left <= 0 {
			return 0, fmt.Errorf("encrypted handshake longer than %d bytes", maxMSERead)
		}
		b = b[:min(len(b), left)]
	}
	n, err := l.Conn.Read(b)
	if armed {
		l.mu.Lock()
		l.left -= n
		l.mu.Unlock()
	}
	return n, err
}

func (l *limitedConn) disarm() {
	l.mu.Lock()
	l.armed = false
	l.mu.Unlock()
}

// cryptoConn is a connection whose bytes go through the stream the MSE
// handshake agreed on (RC4 or plain after obfuscated headers). Deadlines
// and Close act on the socket underneath through the embedded Conn.
type cryptoConn struct {
	net.Conn
	rw io.ReadWriter
	// werr is the first write error: the library's RC4 writer cannot be
	// used again after a short write, so later writes fail with it.
	werr error
}

func (c *cryptoConn) Read(b []byte) (int, error) { return c.rw.Read(b) }

func (c *cryptoConn) Write(b []byte) (int, error) {
	if c.werr != nil {
		return 0, c.werr
	}
	n, err := c.rw.Write(b)
	if err != nil {
		c.werr = err
	} else if n != len(b) {
		c.werr = io.ErrShortWrite
		err = c.werr
	}
	return n, err
}

// prefixConn replays bytes already read (to tell a plain handshake from
// an encrypted one) before the rest of the socket.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func newPrefixConn(nc net.Conn, prefix []byte) *prefixConn {
	return &prefixConn{Conn: nc, r: io.MultiReader(bytes.NewReader(prefix), nc)}
}

// selectCrypto returns how we answer an encrypted handshake's offer:
// RC4 when encryption is preferred or required, plaintext after the
// obfuscated header when merely tolerated (it costs nothing). 0 refuses.
func selectCrypto(p Encryption) mse.CryptoSelector {
	return func(offered mse.CryptoMethod) mse.CryptoMethod {
		rc4 := offered&mse.CryptoMethodRC4 != 0
		plain := offered&mse.CryptoMethodPlaintext != 0
		switch {
		case p == EncryptionRequired && rc4:
			return mse.CryptoMethodRC4
		case p == EncryptionRequired:
			return 0
		case p == EncryptionTolerated && plain:
			return mse.CryptoMethodPlaintext
		case rc4:
			return mse.CryptoMethodRC4
		case plain:
			return mse.CryptoMethodPlaintext
		}
		return 0
	}
}

// receiveMSE answers an encrypted handshake whose first bytes were already
// read, with the infohashes of our torrents as the secret keys. The caller
// has set the socket's deadline, which bounds every read and write here.
func receiveMSE(ctx context.Context, nc net.Conn, prefix []byte, skeys [][20]byte, p Encryption) (net.Conn, mse.CryptoMethod, error) {
	lc := &limitedConn{Conn: newPrefixConn(nc, prefix), left: maxMSERead, armed: true}
	iter := func(yield func([]byte) bool) {
		for i := range skeys {
			if !yield(skeys[i][:]) {
				return
			}
		}
	}
	rw, method, err := mse.ReceiveHandshake(ctx, lc, iter, selectCrypto(p))
	if err != nil {
		return nil, 0, fmt.Errorf("encrypted handshake: %w", err)
	}
	lc.disarm()
	return &cryptoConn{Conn: lc, rw: rw}, method, nil
}

// initiateMSE runs the initiator's side over nc for infoHash, sending
// initial (our BitTorrent handshake) inside the key exchange to save a
// round trip.
func initiateMSE(ctx context.Context, nc net.Conn, infoHash [20]byte, initial []byte, p Encryption) (net.Conn, mse.CryptoMethod, error) {
	provides := mse.AllSupportedCrypto
	if p == EncryptionRequired {
		provides = mse.CryptoMethodRC4
	}
	// The receiver's side of our read: Yb, PadB (the library bounds it
	// to 512), VC, crypto_select, len(PadD), PadD.
	lc := &limitedConn{Conn: nc, left: 96 + maxMSEPad + 8 + 4 + 2 + maxMSEPad, armed: true}
	rw, method, err := mse.InitiateHandshakeContext(ctx, lc, infoHash[:], initial, provides)
	if err != nil {
		if hungUp(err) {
			return nil, 0, fmt.Errorf("%w (it hung up on the key exchange: %v)", ErrPeerNoEncryption, err)
		}
		return nil, 0, fmt.Errorf("encrypted handshake: %w", err)
	}
	lc.disarm()
	return &cryptoConn{Conn: lc, rw: rw}, method, nil
}

// hungUp reports the errors a plain-only peer produces when it reads our
// public key as a broken handshake and closes.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		err.Error() == "failed to synchronize on VC"
}
