package swarm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// LSDConfig configures local service discovery (BEP 14): announcing our
// torrents on the LAN's multicast group and learning peers from others'
// announcements. It is off unless asked for.
type LSDConfig struct {
	// Group is the multicast group; DefaultLSDGroup unless set (tests use
	// a loopback address, which has no multicast).
	Group string
	// Listen receives announcements; a send-only node skips it.
	Listen   bool
	Interval time.Duration
}

// DefaultLSDGroup is BEP 14's IPv4 group.
const DefaultLSDGroup = "239.192.152.143:6771"

// maxLSDMessage bounds what we read from the LAN.
const maxLSDMessage = 1400

type lsd struct {
	s      *Session
	cfg    LSDConfig
	group  *net.UDPAddr
	out    *net.UDPConn
	in     *net.UDPConn
	cookie string
}

func startLSD(s *Session, cfg LSDConfig) (*lsd, error) {
	if cfg.Group == "" {
		cfg.Group = DefaultLSDGroup
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	g, err := net.ResolveUDPAddr("udp4", cfg.Group)
	if err != nil {
		return nil, fmt.Errorf("lsd group: %w", err)
	}
	out, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return nil, fmt.Errorf("lsd: %w", err)
	}
	var b [8]byte
	rand.Read(b[:])
	l := &lsd{s: s, cfg: cfg, group: g, out: out, cookie: hex.EncodeToString(b[:])}
	if cfg.Listen {
		if g.IP.IsMulticast() {
			l.in, err = net.ListenMulticastUDP("udp4", nil, g)
		} else {
			l.in, err = net.ListenUDP("udp4", g)
		}
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("lsd listen on %s: %w", cfg.Group, err)
		}
		s.wg.Add(1)
		go l.receive()
	}
	return l, nil
}

func (l *lsd) close() {
	l.out.Close()
	if l.in != nil {
		l.in.Close()
	}
}

// announce tells the LAN we have these torrents.
func (l *lsd) announce(hashes [][20]byte) {
	var b strings.Builder
	fmt.Fprintf(&b, "BT-SEARCH * HTTP/1.1\r\nHost: %s\r\nPort: %d\r\n", l.cfg.Group, l.s.port)
	for _, h := range hashes {
		fmt.Fprintf(&b, "Infohash: %x\r\n", h)
	}
	fmt.Fprintf(&b, "cookie: %s\r\n\r\n\r\n", l.cookie)
	l.out.WriteToUDP([]byte(b.String()), l.group)
}

// parseLSD reads an announcement: its port, infohashes and cookie.
func parseLSD(msg []byte) (port uint16, hashes [][20]byte, cookie string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(msg))
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "BT-SEARCH * HTTP/1.1") {
		return 0, nil, "", fmt.Errorf("not a BT-SEARCH message")
	}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "port":
			p, err := strconv.ParseUint(v, 10, 16)
			if err != nil || p == 0 {
				return 0, nil, "", fmt.Errorf("bad port %q", v)
			}
			port = uint16(p)
		case "infohash":
			h, err := hex.DecodeString(v)
			if err == nil && len(h) == 20 && len(hashes) < 64 {
				hashes = append(hashes, [20]byte(h))
			}
		case "cookie":
			cookie = v
		}
	}
	if port == 0 || len(hashes) == 0 {
		return 0, nil, "", fmt.Errorf("no port or infohash")
	}
	return port, hashes, cookie, nil
}

func (l *lsd) receive() {
	defer l.s.wg.Done()
	buf := make([]byte, maxLSDMessage)
	for {
		n, from, err := l.in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		port, hashes, cookie, err := parseLSD(buf[:n])
		if err != nil || cookie == l.cookie {
			continue // junk, or our own announcement looped back
		}
		peer := netip.AddrPortFrom(from.Addr().Unmap(), port)
		for _, h := range hashes {
			l.s.mu.Lock()
			t := l.s.torrents[h]
			l.s.mu.Unlock()
			if t != nil && !t.m.Private {
				go t.addPeers([]netip.AddrPort{peer}, "lsd")
			}
		}
	}
}

// lsdLoop announces t on the LAN now and every interval.
func (t *Torrent) lsdLoop(ctx context.Context, l *lsd) {
	tick := time.NewTicker(l.cfg.Interval)
	defer tick.Stop()
	for {
		l.announce(swarmHashes(t.m)) // a hybrid is in both swarms
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
