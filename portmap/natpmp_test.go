package portmap

import (
	"github.com/shoal-torrent/shoal/portmap/portmaptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNATPMPMapsRenewsAndRemoves: the gateway grants other external
// ports than asked; renewals ask for those, Close deletes both.
func TestNATPMPMapsRenewsAndRemoves(t *testing.T) {
	pmp := portmaptest.NewNATPMP(t, nil)
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway, cfg.Lease = true, pmp.IP, 2*time.Second
	m := start(t, cfg)
	s := waitStatus(t, statuses, isState(StateMapped))
	if s.Method != NATPMP || s.Gateway != pmp.IP.String() || s.ExternalIP != netip.MustParseAddr("198.51.100.9") {
		t.Fatalf("status %+v", s)
	}
	for _, p := range []Protocol{TCP, UDP} {
		if mp, ok := s.Mapped(p, 6881); !ok || mp.External != 7881 {
			t.Fatalf("%s: %+v", p, s)
		}
	}
	// Discovery, then two rounds: external address, UDP (op 1) and TCP
	// (op 2) in the order of the ports, the second asking for 7881.
	if r := pmp.Next(t); r.Op != 0 {
		t.Fatalf("first request %+v", r)
	}
	for round, ext := range []uint16{6881, 7881} {
		if r := pmp.Next(t); r.Op != 0 {
			t.Fatalf("round %d: %+v", round, r)
		}
		for _, op := range []byte{2, 1} {
			if r := pmp.Next(t); r.Version != 0 || r.Op != op || r.Internal != 6881 || r.External != ext || r.Lifetime != 2 {
				t.Fatalf("round %d: %+v", round, r)
			}
		}
	}
	m.Close()
	deleted := map[byte]bool{}
	for len(deleted) < 2 {
		r := pmp.Next(t)
		if r.Lifetime == 0 && r.External == 0 && r.Internal == 6881 {
			deleted[r.Op] = true
		}
	}
}

// TestNATPMPHostileGateway: silence, garbage and a PCP-only answer each
// give a failed status saying so, within the request timeout.
func TestNATPMPHostileGateway(t *testing.T) {
	for _, c := range []struct {
		name  string
		reply func([]byte) []byte
		want  string
	}{
		{"silent", func([]byte) []byte { return nil }, "no answer in time"},
		{"garbage", func([]byte) []byte { return []byte("HTTP/1.1 200 OK\r\n\r\n") }, "unknown protocol version 72"},
		{"short", func([]byte) []byte { return []byte{0} }, "unexpected result size 1"},
		{"wrong-op", func(req []byte) []byte { return []byte{0, 129, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9} }, "Unexpected opcode"},
		{"pcp-garbage", func([]byte) []byte { return []byte{2, 128, 0, 1} }, "could not forward TCP 6881, UDP 6881: a PCP answer of 4 bytes"},
		{"oversize", func([]byte) []byte { return make([]byte, 1000) }, "Unexpected opcode 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pmp := portmaptest.NewNATPMP(t, c.reply)
			cfg, statuses := testConfig(t)
			cfg.NATPMP, cfg.NATPMPGateway = true, pmp.IP
			began := time.Now()
			m := start(t, cfg)
			s := waitStatus(t, statuses, isState(StateFailed))
			if !strings.Contains(s.Err, c.want) || !strings.Contains(s.Err, " gateway "+pmp.IP.String()) {
				t.Fatalf("err %q lacks %q", s.Err, c.want)
			}
			if d := time.Since(began); d > cfg.RequestTimeout+time.Second {
				t.Fatalf("took %v", d)
			}
			m.Close()
		})
	}
}

// TestNATPMPNoServer: a gateway with nothing on port 5351 (ICMP port
// unreachable) is said to be so at once, not after the timeout.
func TestNATPMPNoServer(t *testing.T) {
	pmp := portmaptest.NewNATPMP(t, nil)
	pmp.Close()
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway, cfg.RequestTimeout = true, pmp.IP, 5*time.Second
	began := time.Now()
	start(t, cfg)
	s := waitStatus(t, statuses, isState(StateFailed))
	if !strings.HasSuffix(s.Err, "refused: no NAT-PMP server there") || time.Since(began) > 4*time.Second {
		t.Fatalf("err %q after %v", s.Err, time.Since(began))
	}
}

// TestNATPMPRefusesNoMapping: a gateway granting lifetime 0 or for
// another port has not mapped ours.
func TestNATPMPRefusesNoMapping(t *testing.T) {
	pmp := portmaptest.NewNATPMP(t, func(req []byte) []byte {
		if req[1] == 0 {
			return []byte{0, 128, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9}
		}
		return []byte{0, 128 + req[1], 0, 0, 0, 0, 0, 1, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0, 0}
	})
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway = true, pmp.IP
	start(t, cfg)
	s := waitStatus(t, statuses, isState(StateFailed))
	if !strings.Contains(s.Err, "could not forward TCP 6881, UDP 6881: the gateway granted no mapping") {
		t.Fatalf("err %q", s.Err)
	}
}

// TestPCPMapsRenewsAndRemoves: a gateway that answers NAT-PMP in PCP's
// version is asked with PCP MAP requests; renewals and deletions repeat
// each mapping's nonce.
func TestPCPMapsRenewsAndRemoves(t *testing.T) {
	pmp := portmaptest.NewNATPMP(t, portmaptest.PCPOnly([4]byte{198, 51, 100, 10}))
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway, cfg.Lease = true, pmp.IP, 2*time.Second
	m := start(t, cfg)
	s := waitStatus(t, statuses, isState(StateMapped))
	if s.Method != PCP || s.ExternalIP != netip.MustParseAddr("198.51.100.10") {
		t.Fatalf("status %+v", s)
	}
	for _, p := range []Protocol{TCP, UDP} {
		if mp, ok := s.Mapped(p, 6881); !ok || mp.External != 8881 {
			t.Fatalf("%s: %+v", p, s)
		}
	}
	if r := pmp.Next(t); r.Version != 0 || r.Op != 0 {
		t.Fatalf("first request %+v", r)
	}
	// Two rounds of MAP, TCP then UDP, the second asking for 8881 and
	// repeating the first's nonces; then the deletions, lifetime 0, with
	// the same nonces.
	var maps [][]byte
	for len(maps) < 6 {
		r := pmp.Next(t)
		if r.Version == 2 && r.Op == 1 {
			maps = append(maps, r.Raw)
		}
		if len(maps) == 4 {
			m.Close()
		}
	}
	nonce := func(b []byte) string { return string(b[24:36]) }
	u16 := func(b []byte, at int) uint16 { return uint16(b[at])<<8 | uint16(b[at+1]) }
	u32 := func(b []byte) uint32 { return uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7]) }
	for i, b := range maps {
		proto, ext, life := b[36], u16(b, 42), u32(b)
		wantProto := []byte{6, 17}[i%2]
		wantExt, wantLife := []uint16{6881, 6881, 8881, 8881, 8881, 8881}[i], []uint32{2, 2, 2, 2, 0, 0}[i]
		if i >= 4 {
			wantExt = 0
		}
		if proto != wantProto || ext != wantExt || life != wantLife || u16(b, 40) != 6881 || nonce(b) != nonce(maps[i%2]) {
			t.Errorf("MAP %d: proto %d ext %d lifetime %d internal %d, same nonce %v", i, proto, ext, life, u16(b, 40), nonce(b) == nonce(maps[i%2]))
		}
	}
	if nonce(maps[0]) == nonce(maps[1]) {
		t.Error("TCP and UDP mappings share a nonce")
	}
}

func TestPCPAnswerParsing(t *testing.T) {
	nonce := [12]byte{1, 2, 3}
	p := Port{TCP, 6881}
	req := pcpMapRequest(netip.MustParseAddr("192.168.1.5"), p, nonce, 6881, 3600)
	if len(req) != 60 || req[0] != 2 || req[1] != 1 || req[36] != 6 {
		t.Fatalf("request % x", req)
	}
	if c := netip.AddrFrom16([16]byte(req[8:24])); c.Unmap() != netip.MustParseAddr("192.168.1.5") || !c.Is4In6() {
		t.Fatalf("client address %v", c)
	}
	good := portmaptest.PCPOnly([4]byte{198, 51, 100, 10})(req)
	a, err := parsePCPMapAnswer(good, p, nonce)
	if err != nil || a.port != 8881 || a.lifetime != 3600 || a.ip != netip.MustParseAddr("198.51.100.10") {
		t.Fatalf("%+v %v", a, err)
	}
	other := append([]byte(nil), good...)
	other[24] ^= 1
	if _, err := parsePCPMapAnswer(other, p, nonce); err != errNotOurs {
		t.Fatalf("another nonce: %v", err)
	}
	refused := append([]byte(nil), good...)
	refused[3] = 8
	if _, err := parsePCPMapAnswer(refused, p, nonce); err == nil || !strings.Contains(err.Error(), "no resources") {
		t.Fatalf("refused: %v", err)
	}
	for _, b := range [][]byte{nil, good[:23], good[:59], append(good, 0), make([]byte, 1104)} {
		if _, err := parsePCPMapAnswer(b, p, nonce); err == nil {
			t.Errorf("%d bytes accepted", len(b))
		}
	}
}

func FuzzPCPAnswer(f *testing.F) {
	nonce := [12]byte{9}
	p := Port{UDP, 51413}
	f.Add(portmaptest.PCPOnly([4]byte{1, 2, 3, 4})(pcpMapRequest(netip.MustParseAddr("10.0.0.2"), p, nonce, 0, 60)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := parsePCPMapAnswer(b, p, nonce); err == nil && len(b) < 60 {
			t.Fatalf("%+v from %d bytes", a, len(b))
		}
	})
}
