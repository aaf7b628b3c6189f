package swarm

import (
	"net"
	"net/netip"
	"time"
)

// pendingConn is an incoming connection still handshaking.
type pendingConn struct {
	ip netip.Addr
	at time.Time
}

// admitHalfOpen records a new incoming connection. One address may hold a
// quarter of the MaxHalfOpen slots; past that its own oldest makes way,
// and when every slot is taken the oldest of the address holding the most
// does. A flood from a few hosts then closes only their own connections,
// not an honest peer's handshake in progress.
func (s *Session) admitHalfOpen(nc net.Conn) {
	ip := addrOf(nc.RemoteAddr()).Addr()
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	if s.pending == nil {
		s.pending, s.pendingIP = map[net.Conn]pendingConn{}, map[netip.Addr]int{}
	}
	perIP := max(1, s.cfg.MaxHalfOpen/4)
	switch {
	case s.pendingIP[ip] >= perIP:
		s.closeOldestLocked(ip)
	case len(s.pending) >= s.cfg.MaxHalfOpen:
		var most netip.Addr
		for a, n := range s.pendingIP {
			if !most.IsValid() || n > s.pendingIP[most] {
				most = a
			}
		}
		s.closeOldestLocked(most)
	}
	s.pending[nc] = pendingConn{ip: ip, at: s.now()}
	s.pendingIP[ip]++
	s.halfOpen.Store(int64(len(s.pending)))
}

// closeOldestLocked closes ip's oldest handshaking connection; its
// handshake then fails and its goroutine leaves.
func (s *Session) closeOldestLocked(ip netip.Addr) {
	var oldest net.Conn
	var at time.Time
	for c, p := range s.pending {
		if p.ip == ip && (oldest == nil || p.at.Before(at)) {
			oldest, at = c, p.at
		}
	}
	if oldest != nil {
		oldest.Close()
		s.forgetPendingLocked(oldest)
	}
}

func (s *Session) forgetPendingLocked(nc net.Conn) {
	p, ok := s.pending[nc]
	if !ok {
		return
	}
	delete(s.pending, nc)
	if s.pendingIP[p.ip]--; s.pendingIP[p.ip] <= 0 {
		delete(s.pendingIP, p.ip)
	}
	s.halfOpen.Store(int64(len(s.pending)))
}

// handshaken removes nc from the half-open set.
func (s *Session) handshaken(nc net.Conn) {
	s.pendingMu.Lock()
	s.forgetPendingLocked(nc)
	s.pendingMu.Unlock()
}
