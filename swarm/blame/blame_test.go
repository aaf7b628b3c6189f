package blame

import (
	"net/netip"
	"slices"
	"testing"
)

var (
	honest = netip.MustParseAddrPort("10.0.0.1:6881")
	liar   = netip.MustParseAddrPort("10.0.0.2:6881")
	other  = netip.MustParseAddrPort("10.0.0.3:6881")
)

func newLedger(t *testing.T) *Ledger {
	t.Helper()
	l, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSoleSenderIsBannedAtTheSecondStrike(t *testing.T) {
	l := newLedger(t)
	l.Contributed(1, liar)
	if v := l.Failed(1); len(v.Ban) != 0 || len(v.Parole) != 0 {
		t.Fatalf("first strike: %+v", v)
	}
	l.Contributed(2, liar)
	if v := l.Failed(2); !slices.Equal(v.Ban, []netip.AddrPort{liar}) || !l.Banned(liar) {
		t.Fatalf("second strike: %+v", v)
	}
}

func TestSharedFailurePutsEveryoneOnParoleAndParoleFailureBans(t *testing.T) {
	l := newLedger(t)
	l.Contributed(7, honest)
	l.Contributed(7, liar)
	l.Contributed(7, liar)
	v := l.Failed(7)
	if len(v.Ban) != 0 || len(v.Parole) != 2 || !l.OnParole(honest) || !l.OnParole(liar) {
		t.Fatalf("shared failure: %+v", v)
	}
	// On parole, each downloads alone: the honest peer's piece passes.
	l.Contributed(8, honest)
	l.Verified(8)
	// The liar's whole piece fails: one failure under parole is a ban.
	l.Contributed(9, liar)
	if v := l.Failed(9); !slices.Equal(v.Ban, []netip.AddrPort{liar}) {
		t.Fatalf("failure under parole: %+v", v)
	}
	if l.Banned(honest) {
		t.Fatal("the honest peer was banned")
	}
}

func TestLedgerStaysBounded(t *testing.T) {
	l, err := New(Config{Strikes: 2, PerIP: 3, MaxTracked: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		ip := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 6881)
		l.Contributed(i, ip)
		l.Failed(i)
	}
	if len(l.records) > 10 {
		t.Fatalf("%d records kept, cap 10", len(l.records))
	}
	if len(l.contributors) != 0 {
		t.Fatalf("%d pieces' contributors kept after their verdicts", len(l.contributors))
	}
}

func TestPiecesInFlightWhenParoleBeganBanNobody(t *testing.T) {
	l := newLedger(t)
	// Eight pieces shared by both, all sent before the first failed.
	for p := range 8 {
		l.Contributed(p, honest)
		l.Contributed(p, liar)
	}
	for p := range 8 {
		if v := l.Failed(p); len(v.Ban) != 0 {
			t.Fatalf("piece %d banned %v: its parts were sent before parole", p, v.Ban)
		}
	}
	if !l.OnParole(honest) || !l.OnParole(liar) {
		t.Fatal("both senders should be on parole")
	}
	l.Contributed(9, liar)
	if v := l.Failed(9); !slices.Equal(v.Ban, []netip.AddrPort{liar}) {
		t.Fatalf("the liar's own piece under parole: %+v", v)
	}
}

// Senders are address and port: a liar beside an honest peer on one IP
// (one host, one NAT) is caught alone, through parole. A liar that keeps
// coming back from new ports costs its IP everything at PerIP bans.
func TestOneIPManySenders(t *testing.T) {
	l := newLedger(t)
	nat := netip.MustParseAddr("192.0.2.7")
	good, bad := netip.AddrPortFrom(nat, 1000), netip.AddrPortFrom(nat, 2000)
	l.Contributed(1, good)
	l.Contributed(1, bad)
	if v := l.Failed(1); len(v.Parole) != 2 || len(v.Ban) != 0 {
		t.Fatalf("a piece from two senders of one IP: %+v, want both on parole", v)
	}
	l.Contributed(2, bad)
	if v := l.Failed(2); !slices.Equal(v.Ban, []netip.AddrPort{bad}) || len(v.BanIP) != 0 {
		t.Fatalf("the liar's own piece: %+v", v)
	}
	if l.Banned(good) || !l.Banned(bad) {
		t.Fatal("the honest sender on the liar's IP is banned, or the liar is not")
	}
	for port := uint16(2001); port <= 2002; port++ {
		back := netip.AddrPortFrom(nat, port)
		for p := range 2 {
			l.Contributed(10+p, back)
			v := l.Failed(10 + p)
			if wantIP := port == 2002 && p == 1; wantIP != slices.Equal(v.BanIP, []netip.Addr{nat}) {
				t.Fatalf("port %d, strike %d: %+v", port, p+1, v)
			}
		}
	}
	if !l.Banned(good) || !l.BannedIP(nat) || !l.Banned(netip.AddrPortFrom(nat, 9)) {
		t.Fatal("after three banned senders the IP is not refused whole")
	}
}
