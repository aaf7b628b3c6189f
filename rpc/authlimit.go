package rpc

import (
	"net/netip"
	"sync"
	"time"
)

// AuthLimits bound guessing the RPC password: after Free wrong guesses
// from one address, that address is refused (429, without its password
// being checked) for Delay, doubling with each further wrong guess up to
// MaxDelay. Other addresses are never held up, whatever one sends, and an
// address with no wrong guess for Forget starts afresh.
type AuthLimits struct {
	Free            int
	Delay, MaxDelay time.Duration
	Forget          time.Duration
	// MaxAddrs bounds the addresses remembered; past it the stalest
	// ones are forgotten first.
	MaxAddrs int
}

// DefaultAuthLimits allow five wrong guesses, then one a second, doubling
// to one every five minutes.
func DefaultAuthLimits() AuthLimits {
	return AuthLimits{Free: 5, Delay: time.Second, MaxDelay: 5 * time.Minute, Forget: time.Hour, MaxAddrs: 10000}
}

// Validate reports limits the throttle cannot work with.
func (l AuthLimits) Validate() error {
	if l.Free < 0 || l.Delay <= 0 || l.MaxDelay < l.Delay || l.Forget <= 0 || l.MaxAddrs < 1 {
		return errAuthLimits
	}
	return nil
}

// authThrottle is the policy over AuthLimits; every decision takes now.
type authThrottle struct {
	lim   AuthLimits
	mu    sync.Mutex
	addrs map[netip.Prefix]*authFails
}

type authFails struct {
	n     int       // wrong guesses since the last right one or Forget
	last  time.Time // the last wrong guess
	until time.Time // refused before this
}

func newAuthThrottle(lim AuthLimits) *authThrottle {
	return &authThrottle{lim: lim, addrs: map[netip.Prefix]*authFails{}}
}

// key groups IPv6 addresses by /64, which one host commonly holds whole;
// an IPv4 address is its own.
func authKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// wait says how long addr must wait before its credentials are checked
// again; 0 lets it try now.
func (t *authThrottle) wait(addr netip.Addr, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.addrs[authKey(addr)]
	if f == nil || !now.Before(f.until) {
		return 0
	}
	return f.until.Sub(now)
}

// failed records a wrong guess from addr.
func (t *authThrottle) failed(addr netip.Addr, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := authKey(addr)
	f := t.addrs[k]
	if f == nil || now.Sub(f.last) > t.lim.Forget {
		if f == nil && len(t.addrs) >= t.lim.MaxAddrs {
			t.evict(now)
		}
		f = &authFails{}
		t.addrs[k] = f
	}
	f.n++
	f.last = now
	if over := f.n - t.lim.Free + 1; over > 0 {
		d := t.lim.Delay
		for i := 1; i < over && d < t.lim.MaxDelay; i++ {
			d *= 2
		}
		f.until = now.Add(min(d, t.lim.MaxDelay))
	}
}

// succeeded forgets addr's wrong guesses.
func (t *authThrottle) succeeded(addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.addrs, authKey(addr))
}

// evict makes room: the forgotten addresses go, and if none has, the
// stalest one.
func (t *authThrottle) evict(now time.Time) {
	var stalest netip.Prefix
	var at time.Time
	for k, f := range t.addrs {
		if now.Sub(f.last) > t.lim.Forget && !now.Before(f.until) {
			delete(t.addrs, k)
			continue
		}
		if at.IsZero() || f.last.Before(at) {
			stalest, at = k, f.last
		}
	}
	if len(t.addrs) >= t.lim.MaxAddrs {
		delete(t.addrs, stalest)
	}
}
