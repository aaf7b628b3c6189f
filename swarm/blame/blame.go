// Package blame decides whom to hold responsible when a piece fails its
// hash check. It is a pure policy: the torrent loop tells it who sent
// blocks of which piece and what the hash said, and it answers whom to put
// on parole and whom to ban. It knows nothing of connections or time.
//
// The rule: a piece with one contributor convicts it (a strike; the second
// strike, or any failure while on parole, is a ban). A piece with several
// contributors convicts nobody, but puts every contributor on parole, so
// each downloads whole pieces alone from then on and the next bad piece
// names its sender. A shared piece never strikes anyone, not even those
// already on parole: pieces in flight when parole began fail with the
// same senders, and counting them would ban the honest one beside the
// liar. The picker keeps parole peers off shared pieces from then on, so
// the liar's next bad piece is its own.
//
// A sender is an address and port, not an IP alone: peers behind one NAT
// (or on one host) share an IP, and one liar among them must not take the
// honest ones down with it. A liar that comes back from a new port starts
// clean, so once PerIP senders of one IP are banned, the whole IP is.
package blame

import (
	"errors"
	"net/netip"
)

// Config tunes how quickly a sender is banned.
type Config struct {
	// Strikes is how many failed pieces a sender may be sole sender of
	// (or share while on parole) before it is banned.
	Strikes int
	// PerIP is how many of one IP's senders are banned before the whole
	// IP is.
	PerIP int
	// MaxTracked bounds the senders remembered with strikes or parole;
	// past it, the oldest without a ban are forgotten, so a swarm of
	// addresses cannot grow the ledger without end.
	MaxTracked int
}

// DefaultConfig bans at the second strike, as libtorrent's smart ban does
// for peers that sent bad data more than once, and a whole IP once three
// of its senders were banned.
func DefaultConfig() Config { return Config{Strikes: 2, PerIP: 3, MaxTracked: 4096} }

// Validate reports a config the ledger cannot work with.
func (c Config) Validate() error {
	if c.Strikes < 1 {
		return errors.New("blame: Strikes must be at least 1")
	}
	if c.PerIP < 1 {
		return errors.New("blame: PerIP must be at least 1")
	}
	if c.MaxTracked < 1 {
		return errors.New("blame: MaxTracked must be at least 1")
	}
	return nil
}

// Verdict is what a failed piece means.
type Verdict struct {
	// Ban lists senders to refuse from now on; BanIP the IPs that are
	// now refused whole (every sender from them).
	Ban   []netip.AddrPort
	BanIP []netip.Addr
	// Parole lists senders newly put on parole: give them whole pieces
	// of their own only.
	Parole []netip.AddrPort
}

type record struct {
	strikes int
	parole  bool
	seq     uint64 // when last convicted, for forgetting the oldest
}

// Ledger remembers contributions to unverified pieces and the record of
// every sender that sent bad data. Not safe for concurrent use: the
// torrent's loop owns it.
type Ledger struct {
	cfg          Config
	contributors map[int][]netip.AddrPort
	records      map[netip.AddrPort]*record
	banned       map[netip.AddrPort]bool
	// bannedPerIP counts the banned senders of each IP; at PerIP the IP
	// is refused whole.
	bannedPerIP map[netip.Addr]int
	seq         uint64
}

// New returns an empty ledger.
func New(cfg Config) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{cfg: cfg, contributors: map[int][]netip.AddrPort{}, records: map[netip.AddrPort]*record{},
		banned: map[netip.AddrPort]bool{}, bannedPerIP: map[netip.Addr]int{}}, nil
}

// Contributed records that a sender sent a block of piece p that was
// kept.
func (l *Ledger) Contributed(p int, ip netip.AddrPort) {
	for _, a := range l.contributors[p] {
		if a == ip {
			return
		}
	}
	l.contributors[p] = append(l.contributors[p], ip)
}

// Contributors lists who sent blocks of piece p so far.
func (l *Ledger) Contributors(p int) []netip.AddrPort { return l.contributors[p] }

// Verified forgets piece p's contributors: its data was good.
func (l *Ledger) Verified(p int) { delete(l.contributors, p) }

// Forget drops piece p's contributors without a verdict: its data was
// thrown away unchecked (started over, or never written).
func (l *Ledger) Forget(p int) { delete(l.contributors, p) }

// Failed applies the rule to piece p's contributors and forgets them.
func (l *Ledger) Failed(p int) Verdict {
	ips := l.contributors[p]
	delete(l.contributors, p)
	var v Verdict
	for _, ip := range ips {
		if l.Banned(ip) {
			continue
		}
		r := l.record(ip)
		switch {
		case len(ips) == 1 && r.parole:
			// Whole pieces alone, and one failed: no doubt is left.
			r.strikes = l.cfg.Strikes
		case len(ips) == 1:
			r.strikes++
		}
		if r.strikes >= l.cfg.Strikes {
			l.banned[ip] = true
			delete(l.records, ip)
			v.Ban = append(v.Ban, ip)
			if l.bannedPerIP[ip.Addr()]++; l.bannedPerIP[ip.Addr()] == l.cfg.PerIP {
				v.BanIP = append(v.BanIP, ip.Addr())
			}
			continue
		}
		if len(ips) > 1 && !r.parole {
			r.parole = true
			v.Parole = append(v.Parole, ip)
		}
	}
	return v
}

func (l *Ledger) record(ip netip.AddrPort) *record {
	l.seq++
	r := l.records[ip]
	if r == nil {
		if len(l.records) >= l.cfg.MaxTracked {
			l.forgetOldest()
		}
		r = &record{}
		l.records[ip] = r
	}
	r.seq = l.seq
	return r
}

func (l *Ledger) forgetOldest() {
	var oldest netip.AddrPort
	var seq uint64
	for ip, r := range l.records {
		if !oldest.IsValid() || r.seq < seq {
			oldest, seq = ip, r.seq
		}
	}
	delete(l.records, oldest)
}

// OnParole reports whether a sender must download whole pieces alone.
func (l *Ledger) OnParole(ip netip.AddrPort) bool {
	r := l.records[ip]
	return r != nil && r.parole
}

// Banned reports whether a sender is refused: itself, or its whole IP.
func (l *Ledger) Banned(a netip.AddrPort) bool {
	return l.banned[a] || l.BannedIP(a.Addr())
}

// BannedIP reports whether every sender from ip is refused.
func (l *Ledger) BannedIP(ip netip.Addr) bool { return l.bannedPerIP[ip] >= l.cfg.PerIP }

// BannedCount is how many senders are refused.
func (l *Ledger) BannedCount() int { return len(l.banned) }
