package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/anacrolix/torrent/mse"
	"github.com/shoal-torrent/shoal/piece/meta"
	"github.com/shoal-torrent/shoal/swarm/wire"
)

// accept hands ln's connections (TCP or uTP: both take this one path)
// to incoming.
func (s *Session) accept(ln net.Listener) {
	defer s.wg.Done()
	var backoff time.Duration
	var lastWarn time.Time
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors (EMFILE, ENFILE) or a passing fault:
			// back off and let connections close; never give up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if time.Since(lastWarn) > time.Minute {
				s.log.Warn("accept failed; backing off", "err", err)
				lastWarn = time.Now()
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.connSlotFree() {
			nc.Close()
			continue
		}
		s.admitHalfOpen(nc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.incoming(nc)
		}()
	}
}

// handshakeTimeout bounds a handshake, so silent connections cost little
// (libtorrent waits 10 s too).
const handshakeTimeout = 10 * time.Second

// incoming tells a plain handshake from an encrypted one by its first 20
// bytes (as libtorrent does: a DH public key almost never starts with the
// protocol header), reads the peer's infohash, answers only for a torrent
// we run, and hands the connection to that torrent's loop.
func (s *Session) incoming(nc net.Conn) {
	halfOpen := true
	done := func() {
		if halfOpen {
			halfOpen = false
			s.handshaken(nc)
		}
	}
	defer done()
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	c := &conn{nc: nc, addr: addrOf(nc.RemoteAddr()), incoming: true, source: "incoming", utp: isUTP(nc)}
	fail := func(why string, err error) {
		s.log.Debug("incoming connection dropped", "addr", c.addr, "why", why, "err", err)
		nc.Close()
	}
	var first [20]byte
	if _, err := io.ReadFull(nc, first[:]); err != nil {
		fail("no handshake", err)
		return
	}
	rw := net.Conn(newPrefixConn(nc, first[:]))
	if string(first[:]) != wire.Protocol {
		enc, method, err := receiveMSE(s.ctx, nc, first[:], s.infoHashes(), s.cfg.Encryption)
		if err != nil {
			fail("encrypted handshake failed", err)
			return
		}
		rw, c.encrypted = enc, method == mse.CryptoMethodRC4
	} else if s.cfg.Encryption == EncryptionRequired {
		fail("plain handshake refused: encryption is required", nil)
		return
	}
	if err := wire.ReadHandshakeStart(rw, &c.hs); err != nil {
		fail("bad handshake", err)
		return
	}
	s.mu.Lock()
	t := s.torrents[c.hs.InfoHash]
	s.mu.Unlock()
	if t == nil {
		nc.Close() // never answer for a torrent we do not have
		return
	}
	// Answered with the hash the peer used: a hybrid's v1 and v2 swarms
	// meet in one torrent.
	ours := wire.Handshake{Reserved: reservedFor(t.m), InfoHash: c.hs.InfoHash, PeerID: s.peerID}
	if _, err := rw.Write(ours.Append(nil)); err != nil {
		fail("handshake write failed", err)
		return
	}
	if err := wire.ReadPeerID(rw, &c.hs); err != nil || c.hs.PeerID == s.peerID {
		fail("bad peer id or ourselves", err)
		return
	}
	if _, ok := rw.(*cryptoConn); ok {
		c.nc = rw // a plain one has read its replayed prefix: use the socket as it is
	}
	nc.SetDeadline(time.Time{})
	s.conns.Add(1)
	done()
	select {
	case t.conns <- c:
	case <-t.done:
		nc.Close()
		s.connClosed()
	}
}

// reservedFor is the handshake's feature bits for m: the v2 bit only
// when m has v2 metadata to answer hash requests from.
func reservedFor(m *meta.Torrent) wire.Reserved {
	if m.V2 != nil {
		return wire.OurReserved().WithV2()
	}
	return wire.OurReserved()
}

// infoHashes lists the running torrents' infohashes: the secret keys an
// incoming encrypted handshake may use.
func (s *Session) infoHashes() [][20]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][20]byte, 0, len(s.torrents))
	for ih := range s.torrents {
		out = append(out, ih)
	}
	return out
}

// dial connects to a peer for t and reports the outcome to t's loop.
func (s *Session) dial(ctx context.Context, t *Torrent, a netip.AddrPort) {
	c, err := s.dialHandshake(ctx, t.m.InfoHash, a)
	select {
	case t.dialed <- dialResult{addr: a, c: c, err: err}:
	case <-t.done:
		if c != nil {
			c.nc.Close()
			s.connClosed()
		}
	}
}

// dialHandshake connects to a peer as libtorrent does: over uTP first
// and, when that fails, over TCP, each under the encryption policy.
func (s *Session) dialHandshake(ctx context.Context, infoHash [20]byte, a netip.AddrPort) (*conn, error) {
	if s.utp != nil && s.utp.tryUTP(a, s.now()) {
		c, err := s.dialPolicy(ctx, infoHash, a, true)
		if err == nil || ctx.Err() != nil || errors.Is(err, errSelf) {
			return c, err
		}
		if errors.Is(err, errUTPConnect) {
			s.utp.markNoUTP(a, s.now())
		}
		s.log.Debug("uTP dial failed; trying TCP", "addr", a, "err", err)
	}
	return s.dialPolicy(ctx, infoHash, a, false)
}

// dialPolicy connects over one transport under the session's encryption
// policy: preferred tries MSE and, when that fails, dials again plain;
// required stops at the MSE failure; tolerated dials plain.
func (s *Session) dialPolicy(ctx context.Context, infoHash [20]byte, a netip.AddrPort, overUTP bool) (*conn, error) {
	switch s.cfg.Encryption {
	case EncryptionTolerated:
		return s.dialOnce(ctx, infoHash, a, overUTP, false)
	case EncryptionRequired:
		return s.dialOnce(ctx, infoHash, a, overUTP, true)
	}
	c, err := s.dialOnce(ctx, infoHash, a, overUTP, true)
	if err == nil || ctx.Err() != nil || !errors.Is(err, errMSE) {
		return c, err
	}
	s.log.Debug("encrypted handshake failed; trying plain", "addr", a, "utp", overUTP, "err", err)
	return s.dialOnce(ctx, infoHash, a, overUTP, false)
}

// errSelf is a dial that reached this very session: no other transport
// or policy will do better.
var errSelf = errors.New("connected to ourselves")

// errMSE marks dial errors of the encrypted handshake itself, after which
// a preferred policy tries plain.
var errMSE = errors.New("encrypted handshake failed")

// tcpDialTimeout bounds a TCP connect; a refused one fails at once.
const tcpDialTimeout = 10 * time.Second

func (s *Session) dialOnce(ctx context.Context, infoHash [20]byte, a netip.AddrPort, overUTP, encrypt bool) (*conn, error) {
	var nc net.Conn
	var err error
	if overUTP {
		nc, err = s.utp.dial(ctx, a)
	} else {
		d := net.Dialer{Timeout: tcpDialTimeout}
		nc, err = d.DialContext(ctx, "tcp", a.String())
	}
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	reserved := wire.OurReserved()
	s.mu.Lock()
	if t := s.torrents[infoHash]; t != nil {
		reserved = reservedFor(t.m)
	}
	s.mu.Unlock()
	ours := wire.Handshake{Reserved: reserved, InfoHash: infoHash, PeerID: s.peerID}
	c := &conn{nc: nc, addr: a, source: "outgoing", utp: overUTP}
	err = func() error {
		if encrypt {
			// Our handshake rides in the key exchange's initial payload.
			enc, method, err := initiateMSE(ctx, nc, infoHash, ours.Append(nil), s.cfg.Encryption)
			if err != nil {
				return fmt.Errorf("%w: %w", errMSE, err)
			}
			c.nc, c.encrypted = enc, method == mse.CryptoMethodRC4
		} else if _, err := nc.Write(ours.Append(nil)); err != nil {
			return err
		}
		if err := wire.ReadHandshakeStart(c.nc, &c.hs); err != nil {
			return err
		}
		if c.hs.InfoHash != infoHash {
			return fmt.Errorf("%w: peer answered for another torrent", wire.ErrProtocol)
		}
		if err := wire.ReadPeerID(c.nc, &c.hs); err != nil {
			return err
		}
		if c.hs.PeerID == s.peerID {
			return errSelf
		}
		return nil
	}()
	if err != nil {
		nc.Close()
		if errors.Is(err, io.EOF) && !errors.Is(err, errMSE) {
			err = fmt.Errorf("peer closed the connection during the handshake")
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	s.conns.Add(1)
	return c, nil
}
