// Package portmap asks the home router to forward shoal's ports, so peers
// on the internet can dial in: UPnP IGD (SSDP discovery, then SOAP
// AddPortMapping) and NAT-PMP, or PCP where the gateway speaks only that,
// as Transmission and qBittorrent do. A
// Mapper keeps the mappings alive while it runs, renewing them before their
// lease ends, and removes them when closed.
//
// Everything a gateway says is untrusted network input: every read has a
// size bound and every request a deadline, so a broken or hostile router
// costs a status line ("no gateway answered"), never a hang.
package portmap

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"
)

// Protocol is the transport a mapping forwards.
type Protocol string

// The protocols a gateway forwards. BitTorrent uses TCP for peers and UDP
// for uTP and the DHT.
const (
	TCP Protocol = "TCP"
	UDP Protocol = "UDP"
)

// Port is one local port to forward.
type Port struct {
	Protocol Protocol
	// Internal is the local port; the gateway is asked for the same
	// external port, though NAT-PMP may grant another.
	Internal uint16
}

// SSDPMulticast is where UPnP devices listen for searches (UPnP Device
// Architecture 1.1, section 1.3).
const SSDPMulticast = "239.255.255.250:1900"

// Config says what to forward and how to find the gateway. The addresses
// are there so tests can point discovery at fakes on loopback.
type Config struct {
	// Ports are forwarded together; at least one.
	Ports []Port
	// Description names the mappings in the router's table.
	Description string
	// Lease is the lifetime asked for; mappings are renewed at half of
	// what the gateway grants. Whole seconds, at least one.
	Lease time.Duration

	// UPnP and NATPMP switch the two protocols on; UPnP is tried first.
	// NATPMP covers PCP, which answers on the same port.
	UPnP, NATPMP bool
	// SSDPAddr is where the SSDP search is sent (the multicast group by
	// default).
	SSDPAddr string
	// RootURL, when set, skips SSDP: the gateway's root description is
	// fetched from it.
	RootURL string
	// NATPMPGateway is the NAT-PMP server (always port 5351); the zero
	// value means the default route's gateway.
	NATPMPGateway netip.Addr

	// SearchWait is how long SSDP answers are awaited.
	SearchWait time.Duration
	// RequestTimeout bounds each request to the gateway: one SOAP call,
	// one description fetch, one NAT-PMP exchange with its retries.
	RequestTimeout time.Duration
	// CloseTimeout bounds removing the mappings on Close.
	CloseTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts when no
	// gateway answers or a mapping is refused.
	RetryMin, RetryMax time.Duration
	// MaxBody bounds an HTTP body read from the gateway (the root
	// description, a SOAP answer).
	MaxBody int64

	// Logger gets what happens, at debug level but for status changes.
	Logger *slog.Logger
	// OnStatus, when set, is called from the Mapper's goroutine each time
	// the status changes; it must not block for long.
	OnStatus func(Status)
}

// DefaultConfig forwards ports over both protocols with the leases and
// patience home routers expect: an hour's lease (RFC 6886 suggests
// renewing at half), a 2 s SSDP wait as in miniupnpc, retries from 30 s
// backing off to 15 min.
func DefaultConfig(ports ...Port) Config {
	return Config{
		Ports:          ports,
		Description:    "shoal",
		Lease:          time.Hour,
		UPnP:           true,
		NATPMP:         true,
		SSDPAddr:       SSDPMulticast,
		SearchWait:     2 * time.Second,
		RequestTimeout: 3 * time.Second,
		CloseTimeout:   2 * time.Second,
		RetryMin:       30 * time.Second,
		RetryMax:       15 * time.Minute,
		MaxBody:        64 << 10,
		Logger:         slog.New(slog.DiscardHandler),
	}
}

// Validate says what is wrong with c, if anything.
func (c Config) Validate() error {
	if len(c.Ports) == 0 {
		return errors.New("portmap: no port to forward")
	}
	seen := map[Port]bool{}
	for _, p := range c.Ports {
		if p.Protocol != TCP && p.Protocol != UDP {
			return fmt.Errorf("portmap: protocol %q: want TCP or UDP", p.Protocol)
		}
		if p.Internal == 0 {
			return fmt.Errorf("portmap: %s port 0 cannot be forwarded", p.Protocol)
		}
		if seen[p] {
			return fmt.Errorf("portmap: %s port %d listed twice", p.Protocol, p.Internal)
		}
		seen[p] = true
	}
	if !c.UPnP && !c.NATPMP {
		return errors.New("portmap: neither UPnP nor NAT-PMP is on")
	}
	if c.Lease < time.Second || c.Lease%time.Second != 0 || c.Lease > 365*24*time.Hour {
		return fmt.Errorf("portmap: lease %v: want whole seconds, 1s to a year", c.Lease)
	}
	if c.UPnP && c.RootURL == "" {
		if _, err := netip.ParseAddrPort(c.SSDPAddr); err != nil {
			return fmt.Errorf("portmap: SSDP address %q: want IP:PORT", c.SSDPAddr)
		}
	}
	if c.RootURL != "" {
		if u, err := url.Parse(c.RootURL); err != nil || u.Scheme != "http" || u.Host == "" {
			return fmt.Errorf("portmap: root description URL %q: want http://HOST:PORT/PATH", c.RootURL)
		}
	}
	if c.NATPMPGateway.IsValid() && !c.NATPMPGateway.Unmap().Is4() {
		return fmt.Errorf("portmap: NAT-PMP gateway %v: NAT-PMP is IPv4 only", c.NATPMPGateway)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"search wait", c.SearchWait}, {"request timeout", c.RequestTimeout}, {"close timeout", c.CloseTimeout}, {"minimum retry", c.RetryMin}} {
		if d.v <= 0 {
			return fmt.Errorf("portmap: %s must be positive, not %v", d.name, d.v)
		}
	}
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("portmap: maximum retry %v is below the minimum %v", c.RetryMax, c.RetryMin)
	}
	if c.MaxBody < 1<<10 {
		return fmt.Errorf("portmap: body limit %d is below 1 KiB", c.MaxBody)
	}
	if c.Logger == nil {
		return errors.New("portmap: no logger")
	}
	return nil
}
