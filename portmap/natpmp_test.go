package portmap

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestNATPMPMapsRenewsAndRemoves: the gateway grants other external
// ports than asked; renewals ask for those, Close deletes both.
func TestNATPMPMapsRenewsAndRemoves(t *testing.T) {
	pmp := newFakeNATPMP(t, nil)
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway, cfg.Lease = true, pmp.ip, 2*time.Second
	m := start(t, cfg)
	s := waitStatus(t, statuses, isState(StateMapped))
	if s.Method != NATPMP || s.Gateway != pmp.ip.String() || s.ExternalIP != netip.MustParseAddr("198.51.100.9") {
		t.Fatalf("status %+v", s)
	}
	for _, p := range []Protocol{TCP, UDP} {
		if mp, ok := s.Mapped(p, 6881); !ok || mp.External != 7881 {
			t.Fatalf("%s: %+v", p, s)
		}
	}
	// Discovery, then two rounds: external address, UDP (op 1) and TCP
	// (op 2) in the order of the ports, the second asking for 7881.
	if r := pmp.next(t); r.op != 0 {
		t.Fatalf("first request %+v", r)
	}
	for round, ext := range []uint16{6881, 7881} {
		if r := pmp.next(t); r.op != 0 {
			t.Fatalf("round %d: %+v", round, r)
		}
		for _, op := range []byte{2, 1} {
			if r := pmp.next(t); r != (natpmpRequest{op: op, internal: 6881, external: ext, lifetime: 2}) {
				t.Fatalf("round %d: %+v", round, r)
			}
		}
	}
	m.Close()
	deleted := map[byte]bool{}
	for len(deleted) < 2 {
		r := pmp.next(t)
		if r.lifetime == 0 && r.external == 0 && r.internal == 6881 {
			deleted[r.op] = true
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
			pmp := newFakeNATPMP(t, c.reply)
			cfg, statuses := testConfig(t)
			cfg.NATPMP, cfg.NATPMPGateway = true, pmp.ip
			began := time.Now()
			m := start(t, cfg)
			s := waitStatus(t, statuses, isState(StateFailed))
			if !strings.Contains(s.Err, c.want) || !strings.HasPrefix(s.Err, "NAT-PMP gateway "+pmp.ip.String()) {
				t.Fatalf("err %q lacks %q", s.Err, c.want)
			}
			if d := time.Since(began); d > cfg.RequestTimeout+time.Second {
				t.Fatalf("took %v", d)
			}
			m.Close()
		})
	}
}

// TestNATPMPRefusesNoMapping: a gateway granting lifetime 0 or for
// another port has not mapped ours.
func TestNATPMPRefusesNoMapping(t *testing.T) {
	pmp := newFakeNATPMP(t, func(req []byte) []byte {
		if req[1] == 0 {
			return []byte{0, 128, 0, 0, 0, 0, 0, 1, 198, 51, 100, 9}
		}
		return []byte{0, 128 + req[1], 0, 0, 0, 0, 0, 1, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0, 0}
	})
	cfg, statuses := testConfig(t)
	cfg.NATPMP, cfg.NATPMPGateway = true, pmp.ip
	start(t, cfg)
	s := waitStatus(t, statuses, isState(StateFailed))
	if !strings.Contains(s.Err, "could not forward TCP 6881, UDP 6881: the gateway granted no mapping") {
		t.Fatalf("err %q", s.Err)
	}
}
