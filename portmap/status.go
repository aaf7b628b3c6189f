package portmap

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
)

// State is where a Mapper is in finding a gateway and holding mappings.
type State string

// The states a Mapper reports.
const (
	// StateSearching: looking for a gateway, nothing mapped yet.
	StateSearching State = "searching"
	// StateMapped: at least one port is forwarded.
	StateMapped State = "mapped"
	// StateFailed: nothing is forwarded; Status.Err says why. The Mapper
	// tries again later.
	StateFailed State = "failed"
)

// Method names the protocol a mapping was made with.
type Method string

// The methods a Mapper uses.
const (
	UPnP   Method = "upnp"
	NATPMP Method = "nat-pmp"
)

// Mapping is one forwarded port as the gateway granted it.
type Mapping struct {
	Protocol Protocol
	Internal uint16
	// External is the gateway's port; 0 when the mapping failed.
	External uint16
	// Err says why this port is not forwarded, when it is not.
	Err string
}

// Status is what a Mapper has achieved, for people and announces.
type Status struct {
	State  State
	Method Method
	// Gateway is where the mapping lives (an IP, or the UPnP control
	// URL's host).
	Gateway string
	// ExternalIP is the gateway's public side, when it told us.
	ExternalIP netip.Addr
	Mappings   []Mapping
	// Err says why nothing, or not everything, is forwarded.
	Err string
}

// Mapped returns the mapping of proto's internal port, if it is open.
func (s Status) Mapped(proto Protocol, internal uint16) (Mapping, bool) {
	for _, m := range s.Mappings {
		if m.Protocol == proto && m.Internal == internal && m.External != 0 {
			return m, true
		}
	}
	return Mapping{}, false
}

// String says the status in a line, e.g. "TCP 6881 forwarded via UPnP,
// external 203.0.113.7:6881".
func (s Status) String() string {
	switch s.State {
	case StateSearching:
		return "looking for a UPnP, NAT-PMP or PCP gateway"
	case StateFailed:
		return "port forwarding failed: " + s.Err
	}
	var open, closed []string
	for _, m := range s.Mappings {
		if m.External == 0 {
			closed = append(closed, fmt.Sprintf("%s %d (%s)", m.Protocol, m.Internal, m.Err))
			continue
		}
		ext := fmt.Sprint(m.External)
		if s.ExternalIP.IsValid() {
			ext = netip.AddrPortFrom(s.ExternalIP, m.External).String()
		}
		open = append(open, fmt.Sprintf("%s %d → %s", m.Protocol, m.Internal, ext))
	}
	line := fmt.Sprintf("forwarded via %s at %s: %s", s.Method.Label(), s.Gateway, strings.Join(open, ", "))
	if len(closed) > 0 {
		line += "; not forwarded: " + strings.Join(closed, ", ")
	}
	return line
}

// Label is the method as people write it: "UPnP", "NAT-PMP".
func (m Method) Label() string {
	switch m {
	case UPnP:
		return "UPnP"
	case NATPMP:
		return "NAT-PMP"
	case PCP:
		return "PCP"
	}
	return string(m)
}

// maxReason bounds a reason quoted from a gateway (a SOAP fault string,
// say): it ends up on a status line.
const maxReason = 240

// reason makes err one printable line of bounded length: gateways put
// what they like in their error strings.
func reason(err error) string {
	s := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, err.Error())
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxReason {
		s = string(r[:maxReason]) + "…"
	}
	return s
}
