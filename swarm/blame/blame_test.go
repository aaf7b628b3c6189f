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

func TestParoleCannotHideBehindOthers(t *testing.T) {
	l := newLedger(t)
	l.Contributed(1, liar)
	l.Contributed(1, honest)
	l.Failed(1)
	// Both on parole; the liar keeps sharing pieces with fresh peers.
	for p, o := range []netip.Addr{other, netip.MustParseAddr("10.0.0.4")} {
		l.Contributed(10+p, liar)
		l.Contributed(10+p, o)
		l.Failed(10 + p)
	}
	if !l.Banned(liar) {
		t.Fatal("a parole peer sharing failed pieces was never banned")
	}
	if l.Banned(other) {
		t.Fatal("a first-time sharer was banned")
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
