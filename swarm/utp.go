package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	utp "github.com/anacrolix/go-libutp"
	alog "github.com/anacrolix/log"
)

// uTP (BEP 29) runs on go-libutp, cgo around the reference libutp that
// uTorrent, Transmission and anacrolix/torrent use. On loopback it moved
// 256 MiB at ~24 MiB/s for ~10.7 core-seconds a GiB; the pure-Go
// anacrolix/utp managed ~2 MiB/s and lost the connection ("timed out
// waiting for ack") on a 64 MiB transfer.

// utpDialTimeout bounds the uTP connect (SYN to SYN-ACK) before a dial
// falls back to TCP. A peer without uTP never answers (Linux does not
// report ICMP errors on an unconnected UDP socket), so this is what the
// first dial to a TCP-only peer costs (noUTP spares the later ones);
// libtorrent waits 3 s, which is a good part of why it reaches some
// peers slowly.
const utpDialTimeout = 2 * time.Second

// utpSocket is the session's UDP socket: uTP connections in and out, and
// (through ReadFrom and WriteTo) every other datagram for the DHT.
//
// libutp frees its state when the socket closes but not the connections'
// own, and a call into a connection after that is a use after free. So
// every uTP connection the session holds is a utpConn, every call into
// one is counted in flight, and close first refuses new calls, closes
// each connection (which wakes blocked reads and writes), waits for the
// calls in flight, and only then closes the library's socket.
type utpSocket struct {
	s      *utp.Socket
	ctx    context.Context // cancelled by close, ending dials in progress
	cancel context.CancelFunc

	mu       sync.Mutex // guards closing, conns, noUTP; inflight.Add happens under it
	closing  bool
	conns    map[*utpConn]struct{}
	inflight sync.WaitGroup
	// noUTP holds peers that did not answer a uTP connect, and until
	// when to dial them over TCP straight away (libtorrent marks such a
	// peer too): only the first dial pays utpDialTimeout.
	noUTP map[netip.AddrPort]time.Time
}

// errUTPConnect is a uTP dial that got no connection at all.
var errUTPConnect = errors.New("uTP connect failed")

// Bounds of the no-uTP memory.
const (
	noUTPFor = time.Hour
	maxNoUTP = 10_000
)

// markNoUTP remembers that a did not answer over uTP.
func (u *utpSocket) markNoUTP(a netip.AddrPort, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.noUTP) >= maxNoUTP {
		for p, until := range u.noUTP {
			if !now.Before(until) {
				delete(u.noUTP, p)
			}
		}
		for p := range u.noUTP { // still full: forget any one
			if len(u.noUTP) < maxNoUTP {
				break
			}
			delete(u.noUTP, p)
		}
	}
	u.noUTP[a] = now.Add(noUTPFor)
}

// tryUTP reports whether a dial to a should start over uTP.
func (u *utpSocket) tryUTP(a netip.AddrPort, now time.Time) bool {
	if !u.reaches(a) {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	until, ok := u.noUTP[a]
	if ok && !now.Before(until) {
		delete(u.noUTP, a)
		ok = false
	}
	return !ok
}

// listenUTP binds addr's UDP port for uTP. refuse is asked (under the
// library's lock, so it must be cheap) before an incoming connection is
// acknowledged: refusing then costs no packet back.
func listenUTP(addr string, refuse func(net.Addr) bool) (*utpSocket, error) {
	s, err := utp.NewSocket("udp", addr, utp.WithLogger(alog.Default.WithFilterLevel(alog.Disabled)))
	if err != nil {
		return nil, err
	}
	if refuse != nil {
		s.SetSyncFirewallCallback(utp.FirewallCallback(refuse))
	}
	u := &utpSocket{s: s, conns: map[*utpConn]struct{}{}, noUTP: map[netip.AddrPort]time.Time{}}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	return u, nil
}

// listenTCPAndUTP opens the TCP listener and the UDP socket on one port
// number, as peers expect (trackers and the DHT carry one port). With
// port 0 the TCP port is picked first and the UDP one must follow it;
// if that UDP port is taken, both are tried again.
func listenTCPAndUTP(addr string, refuse func(net.Addr) bool) (net.Listener, *utpSocket, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	var lastErr error
	for range 8 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		p := strconv.Itoa(int(addrOf(ln.Addr()).Port()))
		u, err := listenUTP(net.JoinHostPort(host, p), refuse)
		if err == nil {
			return ln, u, nil
		}
		ln.Close()
		lastErr = err
		if port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("listen for uTP on UDP port of %s (turn uTP off to do without): %w", addr, lastErr)
}

// Addr is the UDP address.
func (u *utpSocket) Addr() net.Addr { return u.s.Addr() }

// packetConn is the socket as the DHT sees it: datagrams that are not
// uTP, and writes straight to the UDP socket.
func (u *utpSocket) packetConn() net.PacketConn { return u.s }

// enter counts a call into the library; false once the socket closes.
func (u *utpSocket) enter() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closing {
		return false
	}
	u.inflight.Add(1)
	return true
}

func (u *utpSocket) leave() { u.inflight.Done() }

// adopt wraps a connection from the library, or reports false (leaving
// nc untouched: after close it must not be called) when closing.
func (u *utpSocket) adopt(nc net.Conn) (*utpConn, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closing {
		return nil, false
	}
	c := &utpConn{Conn: nc, u: u}
	u.conns[c] = struct{}{}
	return c, true
}

// Accept implements net.Listener for the session's accept loop.
func (u *utpSocket) Accept() (net.Conn, error) {
	for {
		nc, err := u.s.Accept()
		if err != nil {
			// The library's only error: its backlog closed with it.
			return nil, net.ErrClosed
		}
		if c, ok := u.adopt(nc); ok {
			return c, nil
		}
	}
}

// dial connects over uTP within utpDialTimeout.
func (u *utpSocket) dial(ctx context.Context, a netip.AddrPort) (net.Conn, error) {
	if !u.enter() {
		return nil, net.ErrClosed
	}
	defer u.leave()
	ctx, cancel := context.WithTimeout(ctx, utpDialTimeout)
	defer cancel()
	stop := context.AfterFunc(u.ctx, cancel)
	defer stop()
	nc, err := u.s.DialContext(ctx, "", a.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUTPConnect, err)
	}
	c, ok := u.adopt(nc)
	if !ok { // cannot happen while we are in flight; close would wait for us
		nc.Close()
		return nil, net.ErrClosed
	}
	return c, nil
}

// reaches reports whether the socket can send to a: one bound to an IPv4
// address cannot reach IPv6 peers, nor the reverse.
func (u *utpSocket) reaches(a netip.AddrPort) bool {
	la := addrOf(u.s.Addr()).Addr()
	if la.IsUnspecified() && la.Is6() {
		return true // dual stack
	}
	return la.Is4() == a.Addr().Unmap().Is4()
}

// Close shuts every connection and then the socket; see utpSocket.
func (u *utpSocket) Close() error {
	u.mu.Lock()
	if u.closing {
		u.mu.Unlock()
		return nil
	}
	u.closing = true
	conns := make([]*utpConn, 0, len(u.conns))
	for c := range u.conns {
		conns = append(conns, c)
	}
	u.mu.Unlock()
	u.cancel()
	for _, c := range conns {
		c.closeOnce()
	}
	u.inflight.Wait()
	return u.s.Close()
}

// utpConn is a uTP connection whose calls the socket counts (see
// utpSocket); its RemoteAddr is a *net.UDPAddr, which is how isUTP tells
// it from a TCP connection.
type utpConn struct {
	net.Conn
	u    *utpSocket
	once sync.Once
}

func (c *utpConn) Read(b []byte) (int, error) {
	if !c.u.enter() {
		return 0, net.ErrClosed
	}
	defer c.u.leave()
	return c.Conn.Read(b)
}

func (c *utpConn) Write(b []byte) (int, error) {
	if !c.u.enter() {
		return 0, net.ErrClosed
	}
	defer c.u.leave()
	return c.Conn.Write(b)
}

// Close closes the connection; after the socket closed it is already.
func (c *utpConn) Close() error {
	if !c.u.enter() {
		return nil
	}
	defer c.u.leave()
	c.closeOnce()
	return nil
}

func (c *utpConn) closeOnce() {
	c.once.Do(func() {
		c.Conn.Close()
		c.u.mu.Lock()
		delete(c.u.conns, c)
		c.u.mu.Unlock()
	})
}

// isUTP reports whether nc (or the socket under an encrypted stream)
// runs over uTP.
func isUTP(nc net.Conn) bool {
	_, ok := nc.RemoteAddr().(*net.UDPAddr)
	return ok
}

// listen opens the session's TCP listener and, unless uTP is off, the
// UDP socket on the same port number.
func (s *Session) listen() error {
	if s.cfg.DisableUTP {
		ln, err := net.Listen("tcp", s.cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.cfg.ListenAddr, err)
		}
		s.ln = ln
		return nil
	}
	ln, u, err := listenTCPAndUTP(s.cfg.ListenAddr, s.refuseUTP)
	if err != nil {
		return err
	}
	s.ln, s.utp = ln, u
	return nil
}

// refuseUTP turns away an incoming uTP connection before it is
// acknowledged when the session has no room for it.
func (s *Session) refuseUTP(net.Addr) bool { return !s.connSlotFree() }

// closeListeners undoes listen when the session fails to start.
func (s *Session) closeListeners() {
	s.ln.Close()
	if s.utp != nil {
		s.utp.Close()
	}
}

// sharesPort reports whether a DHT asked to listen at addr (empty: the
// listen port) belongs on this socket, which holds that UDP port.
func (u *utpSocket) sharesPort(addr string) bool {
	if addr == "" {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == strconv.Itoa(int(addrOf(u.s.Addr()).Port()))
}

// connectMetadata connects to a for a metadata fetch: over TCP and,
// when that fails, over uTP. The fetch dials many peers with a short
// patience each: trying uTP first would cost every TCP-only peer a uTP
// timeout, and racing both leaves the losing uTP handshake open on the
// peer (libutp abandons a connect in flight without a word). A TCP-only
// peer is then reached at once and a uTP-only one after a refused (or
// timed out) TCP connect. TCP's error is the one reported when both fail.
func (s *Session) connectMetadata(ctx context.Context, a netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", a.String())
	if err == nil || ctx.Err() != nil || s.utp == nil || !s.utp.reaches(a) {
		return nc, err
	}
	uctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unc, uerr := s.utp.dial(uctx, a)
	if uerr != nil {
		return nil, err
	}
	return unc, nil
}
