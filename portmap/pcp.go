package portmap

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// PCP (RFC 6887) is NAT-PMP's successor on the same port. A gateway that
// speaks only PCP answers a NAT-PMP request with version 2; shoal then
// maps with PCP's MAP opcode. There is no well-kept Go library for it, and
// the part used here is two fixed-size messages.

// PCP is the method for mappings made with PCP.
const PCP Method = "pcp"

const (
	pcpVersion  = 2
	pcpOpMap    = 1
	pcpReqSize  = 60 // header (24) and MAP (36)
	pcpMaxSize  = 1100
	pcpInitWait = 250 * time.Millisecond
)

// pcpResults words PCP's result codes (RFC 6887 section 7.4).
var pcpResults = map[byte]string{
	1: "unsupported version", 2: "not authorized", 3: "malformed request", 4: "unsupported opcode",
	5: "unsupported option", 6: "malformed option", 7: "network failure", 8: "no resources",
	9: "unsupported protocol", 10: "user quota exceeded", 11: "cannot provide the external port",
	12: "address mismatch", 13: "excessive remote peers",
}

// pcpGateway forwards ports with PCP MAP requests.
type pcpGateway struct {
	ip      netip.Addr
	local   netip.Addr // this host's address toward the gateway, carried in requests
	timeout time.Duration
	// nonces identify our mappings: a renewal or deletion must repeat
	// the nonce of the request that made the mapping.
	nonces map[Port][12]byte
	extIP  netip.Addr // from the latest answer
}

func newPCPGateway(ip netip.Addr, timeout time.Duration) (*pcpGateway, error) {
	local, err := localAddrToward(netip.AddrPortFrom(ip, 5351).String())
	if err != nil {
		return nil, err
	}
	return &pcpGateway{ip: ip, local: local, timeout: timeout, nonces: map[Port][12]byte{}}, nil
}

func (g *pcpGateway) method() Method { return PCP }
func (g *pcpGateway) where() string  { return g.ip.String() }

// externalIP is what the latest MAP answer said: PCP has no request for
// it alone.
func (g *pcpGateway) externalIP(ctx context.Context) (netip.Addr, error) {
	if !g.extIP.IsValid() {
		return netip.Addr{}, errors.New("not known before a mapping")
	}
	return g.extIP, nil
}

func (g *pcpGateway) add(ctx context.Context, p Port, external uint16, lease time.Duration) (uint16, time.Duration, error) {
	nonce, ok := g.nonces[p]
	if !ok {
		rand.Read(nonce[:])
		g.nonces[p] = nonce
	}
	a, err := g.mapRequest(ctx, p, nonce, external, uint32(lease/time.Second))
	if err != nil {
		return 0, 0, err
	}
	if a.port == 0 || a.lifetime == 0 {
		return 0, 0, errors.New("the gateway granted no mapping")
	}
	if a.ip.IsValid() && !a.ip.IsUnspecified() {
		g.extIP = a.ip
	}
	return a.port, time.Duration(a.lifetime) * time.Second, nil
}

func (g *pcpGateway) remove(ctx context.Context, p Port, external uint16) error {
	nonce, ok := g.nonces[p]
	if !ok {
		return nil
	}
	_, err := g.mapRequest(ctx, p, nonce, 0, 0)
	return err
}

// pcpAnswer is what a MAP answer grants.
type pcpAnswer struct {
	lifetime uint32
	port     uint16
	ip       netip.Addr
}

// mapRequest sends a MAP request, resending it with doubling waits (RFC
// 6887 section 8.1.1, shortened) until an answer to it arrives or ctx's
// deadline (or the timeout) passes.
func (g *pcpGateway) mapRequest(ctx context.Context, p Port, nonce [12]byte, external uint16, lifetime uint32) (pcpAnswer, error) {
	req := pcpMapRequest(g.local, p, nonce, external, lifetime)
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.ip, 5351)))
	if err != nil {
		return pcpAnswer{}, err
	}
	defer conn.Close()
	end := time.Now().Add(g.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(end) {
		end = d
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, pcpMaxSize+1)
	for wait := pcpInitWait; time.Now().Before(end); wait *= 2 {
		if _, err := conn.Write(req); err != nil {
			return pcpAnswer{}, err
		}
		conn.SetReadDeadline(minTime(time.Now().Add(wait), end))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					break // resend
				}
				if ctx.Err() != nil {
					return pcpAnswer{}, ctx.Err()
				}
				return pcpAnswer{}, err
			}
			a, err := parsePCPMapAnswer(buf[:n], p, nonce)
			if errors.Is(err, errNotOurs) {
				continue // a stray or stale answer: keep waiting for ours
			}
			return a, err
		}
	}
	return pcpAnswer{}, errNoAnswer
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// pcpMapRequest encodes a MAP request (RFC 6887 sections 7.1 and 11.1)
// for any external address.
func pcpMapRequest(local netip.Addr, p Port, nonce [12]byte, external uint16, lifetime uint32) []byte {
	b := make([]byte, pcpReqSize)
	b[0], b[1] = pcpVersion, pcpOpMap
	binary.BigEndian.PutUint32(b[4:8], lifetime)
	client := netip.AddrFrom16(local.As16())
	if local.Is4() {
		client = netip.AddrFrom16(netip.AddrFrom4(local.As4()).As16()) // IPv4-mapped
	}
	c16 := client.As16()
	copy(b[8:24], c16[:])
	copy(b[24:36], nonce[:])
	b[36] = pcpProto(p.Protocol)
	binary.BigEndian.PutUint16(b[40:42], p.Internal)
	binary.BigEndian.PutUint16(b[42:44], external)
	any4 := netip.AddrFrom16(netip.IPv4Unspecified().As16()).As16() // ::ffff:0.0.0.0
	copy(b[44:60], any4[:])
	return b
}

func pcpProto(p Protocol) byte {
	if p == UDP {
		return 17
	}
	return 6
}

// errNotOurs marks an answer to another request.
var errNotOurs = errors.New("not an answer to this request")

// parsePCPMapAnswer checks a datagram is the answer to our MAP request
// for p with nonce, and reads what it grants.
func parsePCPMapAnswer(b []byte, p Port, nonce [12]byte) (pcpAnswer, error) {
	if len(b) < 24 || len(b) > pcpMaxSize || len(b)%4 != 0 {
		return pcpAnswer{}, fmt.Errorf("a PCP answer of %d bytes", len(b))
	}
	if b[0] != pcpVersion {
		return pcpAnswer{}, fmt.Errorf("PCP answer of version %d", b[0])
	}
	if b[1] != 0x80|pcpOpMap {
		return pcpAnswer{}, errNotOurs
	}
	if code := b[3]; code != 0 {
		why, ok := pcpResults[code]
		if !ok {
			why = fmt.Sprintf("result %d", code)
		}
		return pcpAnswer{}, fmt.Errorf("PCP refused: %s", why)
	}
	if len(b) < pcpReqSize {
		return pcpAnswer{}, fmt.Errorf("a PCP MAP answer of %d bytes", len(b))
	}
	if [12]byte(b[24:36]) != nonce || b[36] != pcpProto(p.Protocol) || binary.BigEndian.Uint16(b[40:42]) != p.Internal {
		return pcpAnswer{}, errNotOurs
	}
	return pcpAnswer{
		lifetime: binary.BigEndian.Uint32(b[4:8]),
		port:     binary.BigEndian.Uint16(b[42:44]),
		ip:       netip.AddrFrom16([16]byte(b[44:60])).Unmap(),
	}, nil
}
