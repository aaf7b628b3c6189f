package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// findNATPMP asks the gateway (NATPMPGateway, or the default route's) for
// its external address: a gateway that answers speaks NAT-PMP.
func (m *Mapper) findNATPMP(ctx context.Context) (gateway, error) {
	ip := m.cfg.NATPMPGateway
	if !ip.IsValid() {
		var err error
		if ip, err = defaultGateway(); err != nil {
			return nil, fmt.Errorf("NAT-PMP: %w", err)
		}
	}
	g := &natpmpGateway{ip: ip.Unmap(), timeout: m.cfg.RequestTimeout}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
	defer cancel()
	_, err := g.externalIP(rctx)
	if errors.Is(err, errSpeaksPCP) {
		pg, perr := newPCPGateway(g.ip, m.cfg.RequestTimeout)
		if perr == nil {
			return pg, nil
		}
		err = perr
	}
	if err != nil {
		return nil, fmt.Errorf("NAT-PMP gateway %s: %w", ip, err)
	}
	return g, nil
}

// natpmpGateway forwards ports with NAT-PMP (RFC 6886).
type natpmpGateway struct {
	ip      netip.Addr
	timeout time.Duration
}

func (g *natpmpGateway) method() Method { return NATPMP }
func (g *natpmpGateway) where() string  { return g.ip.String() }

// client is a NAT-PMP client whose retries end by ctx's deadline: the
// library takes a total timeout, not a context.
func (g *natpmpGateway) client(ctx context.Context) *natpmp.Client {
	t := g.timeout
	if d, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(d))
	}
	return natpmp.NewClientWithTimeout(net.IP(g.ip.AsSlice()), max(t, time.Millisecond))
}

func (g *natpmpGateway) externalIP(ctx context.Context) (netip.Addr, error) {
	r, err := g.client(ctx).GetExternalAddress()
	if err != nil {
		return netip.Addr{}, natpmpError(err)
	}
	ip := netip.AddrFrom4(r.ExternalIPAddress)
	if ip.IsUnspecified() {
		return netip.Addr{}, errors.New("the gateway has no external address")
	}
	return ip, nil
}

func (g *natpmpGateway) add(ctx context.Context, p Port, external uint16, lease time.Duration) (uint16, time.Duration, error) {
	r, err := g.client(ctx).AddPortMapping(strings.ToLower(string(p.Protocol)), int(p.Internal), int(external), int(lease/time.Second))
	if err != nil {
		return 0, 0, natpmpError(err)
	}
	// The answer must be about our port and grant something.
	switch {
	case r.InternalPort != p.Internal:
		return 0, 0, fmt.Errorf("the gateway answered for port %d, not %d", r.InternalPort, p.Internal)
	case r.MappedExternalPort == 0 || r.PortMappingLifetimeInSeconds == 0:
		return 0, 0, errors.New("the gateway granted no mapping")
	}
	return r.MappedExternalPort, time.Duration(r.PortMappingLifetimeInSeconds) * time.Second, nil
}

func (g *natpmpGateway) remove(ctx context.Context, p Port, external uint16) error {
	// RFC 6886 section 3.4: a lifetime of 0 and external port 0 delete.
	_, err := g.client(ctx).AddPortMapping(strings.ToLower(string(p.Protocol)), int(p.Internal), 0, 0)
	return natpmpError(err)
}

// natpmpError words the library's errors for a status line.
func natpmpError(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "Timed out"):
		return errNoAnswer
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("refused: no NAT-PMP server there")
	case strings.Contains(err.Error(), "PCP"):
		return errSpeaksPCP
	}
	return err
}

// errSpeaksPCP is a NAT-PMP request answered in PCP's version: the
// gateway is asked with PCP instead.
var errSpeaksPCP = errors.New("the gateway speaks PCP, not NAT-PMP")
