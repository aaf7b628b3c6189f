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
			if r := pmp.Next(t); r != (portmaptest.NATPMPRequest{Op: op, Internal: 6881, External: ext, Lifetime: 2}) {
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
		{"silent", func([]byte) []byte { return nil }, "no NAT-PMP answer"},
		{"garbage", func([]byte) []byte { return []byte("HTTP/1.1 200 OK\r\n\r\n") }, "unknown protocol version 72"},
		{"short", func([]byte) []byte { return []byte{0} }, "unexpected result size 1"},
		{"wrong-op", func(req []byte) []byte { return []byte{0, 129, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9} }, "Unexpected opcode"},
		{"pcp-only", func([]byte) []byte { return []byte{2, 128, 0, 1} }, "speaks only PCP"},
		{"oversize", func([]byte) []byte { return make([]byte, 1000) }, "Unexpected opcode 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pmp := portmaptest.NewNATPMP(t, c.reply)
			cfg, statuses := testConfig(t)
			cfg.NATPMP, cfg.NATPMPGateway = true, pmp.IP
			began := time.Now()
			m := start(t, cfg)
			s := waitStatus(t, statuses, isState(StateFailed))
			if !strings.Contains(s.Err, c.want) || !strings.HasPrefix(s.Err, "NAT-PMP gateway "+pmp.IP.String()) {
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
