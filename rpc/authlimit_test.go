package rpc

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestAuthThrottlePolicy(t *testing.T) {
	lim := AuthLimits{Free: 5, Delay: time.Second, MaxDelay: 4 * time.Second, Forget: time.Hour, MaxAddrs: 2}
	th := newAuthThrottle(lim)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	now := time.Unix(1000, 0)
	for range 5 {
		if th.wait(a, now) != 0 {
			t.Fatal("held up within the free guesses")
		}
		th.failed(a, now)
	}
	if w := th.wait(a, now); w != time.Second {
		t.Fatalf("after 5 wrong: wait %v, want 1s", w)
	}
	if th.wait(b, now) != 0 {
		t.Fatal("another address is held up")
	}
	// Each further wrong guess doubles the wait, to the cap.
	for i, want := range []time.Duration{2, 4, 4} {
		now = now.Add(time.Minute)
		if th.wait(a, now) != 0 {
			t.Fatalf("guess %d: still held up after the wait", i)
		}
		th.failed(a, now)
		if w := th.wait(a, now); w != want*time.Second {
			t.Fatalf("guess %d: wait %v, want %vs", i, w, want)
		}
	}
	// The same /64 is one address; another /64 is not.
	th.failed(netip.MustParseAddr("2001:db8::2"), now)
	if th.addrs[authKey(b)].n != 1 || authKey(netip.MustParseAddr("2001:db8:0:1::1")) == authKey(b) {
		t.Fatal("IPv6 not grouped by /64")
	}
	// A right password, or an hour without a wrong one, starts afresh.
	th.succeeded(a)
	th.failed(a, now)
	if th.wait(a, now) != 0 {
		t.Fatal("a right password did not clear the count")
	}
	for range 5 {
		th.failed(a, now)
	}
	later := now.Add(2 * time.Hour)
	th.failed(a, later)
	if th.wait(a, later) != 0 {
		t.Fatal("old wrong guesses still counted after Forget")
	}
	// A third address evicts the stalest; the map stays bounded.
	th.failed(netip.MustParseAddr("198.51.100.7"), later)
	if len(th.addrs) > lim.MaxAddrs {
		t.Fatalf("%d addresses remembered, bound %d", len(th.addrs), lim.MaxAddrs)
	}
	if err := (AuthLimits{Free: 1}).Validate(); err == nil {
		t.Fatal("a zero delay validated")
	}
}

// Over real sockets: a flood of wrong passwords from 127.0.0.1 gets 429
// there, even with the right one, while ::1 logs in as ever.
func TestRPCThrottlesWrongPasswordsPerAddress(t *testing.T) {
	eng := &fakeEngine{}
	s, err := NewServer(Config{Engine: eng, User: "me", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(network, addr string) string {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Skipf("%s: %v", addr, err)
		}
		ts := httptest.NewUnstartedServer(s)
		ts.Listener.Close()
		ts.Listener = ln
		ts.Start()
		t.Cleanup(ts.Close)
		return ts.URL + Path
	}
	v4, v6 := serve("tcp4", "127.0.0.1:0"), serve("tcp6", "[::1]:0")
	wrong := func(r *http.Request) { r.SetBasicAuth("me", "guess") }
	right := func(r *http.Request) { r.SetBasicAuth("me", "secret") }
	for i := range 5 {
		if r, _ := post(t, v4, "", `{}`, wrong); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong guess %d: %s", i, r.Status)
		}
	}
	r, _ := post(t, v4, "", `{}`, wrong)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth wrong guess: %s %v", r.Status, r.Header)
	}
	if r, _ := post(t, v4, "", `{}`, right); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right password while held up is checked: %s", r.Status)
	}
	if r, _ := post(t, v6, "", `{}`, right); r.StatusCode != http.StatusConflict {
		t.Fatalf("the right password from ::1: %s, want the 409 handshake", r.Status)
	}
	// No credentials at all count for nothing.
	for range 10 {
		if r, _ := post(t, v6, "", `{}`, nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("without credentials: %s", r.Status)
		}
	}
	if r, _ := post(t, v6, "", `{}`, right); r.StatusCode != http.StatusConflict {
		t.Fatalf("after asking without credentials: %s", r.Status)
	}
}
