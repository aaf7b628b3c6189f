package blame

import (
	"net/netip"
	"slices"
	"testing"
)

var (
	honest = netip.MustParseAddr("10.0.0.1")
	liar   = netip.MustParseAddr("10.0.0.2")
	other  = netip.MustParseAddr("10.0.0.3")
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
	if v := l.Failed(2); !slices.Equal(v.Ban, []netip.Addr{liar}) || !l.Banned(liar) {
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
	if v := l.Failed(9); !slices.Equal(v.Ban, []netip.Addr{liar}) {
		t.Fatalf("failure under parole: %+v", v)
	}
	if l.Banned(honest) {
		t.Fatal("the honest peer was banned")
	}
}

func TestLedgerStaysBounded(t *testing.T) {
	l, err := New(Config{Strikes: 2, MaxTracked: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
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
	if v := l.Failed(9); !slices.Equal(v.Ban, []netip.Addr{liar}) {
		t.Fatalf("the liar's own piece under parole: %+v", v)
	}
}
