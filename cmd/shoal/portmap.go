package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/shoal-torrent/shoal/portmap"
	"github.com/shoal-torrent/shoal/swarm"
)

// forwardingOff is NetworkSnapshot.Forwarding when nothing is tried.
const forwardingOff = "off"

// registerPortForwarding adds the flags that point forwarding at a given
// gateway: for routers that do not answer SSDP multicast, and for tests,
// whose fake gateways must be the only ones asked. Hidden: most people
// never need them.
func (f *swarmFlags) registerPortForwarding(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.upnpURL, "upnp-url", "", "the UPnP gateway's root description URL, instead of an SSDP search")
	fl.StringVar(&f.natpmpGateway, "natpmp-gateway", "", "the NAT-PMP gateway's IPv4 address, instead of the default route's")
	fl.MarkHidden("upnp-url")
	fl.MarkHidden("natpmp-gateway")
}

func (f *swarmFlags) validatePortForwarding() error {
	if f.upnpURL != "" {
		if u, err := url.Parse(f.upnpURL); err != nil || u.Scheme != "http" || u.Host == "" {
			return usageError{fmt.Errorf("--upnp-url %q: want http://HOST:PORT/PATH", f.upnpURL)}
		}
	}
	if f.natpmpGateway != "" {
		if ip, err := netip.ParseAddr(f.natpmpGateway); err != nil || !ip.Is4() {
			return usageError{fmt.Errorf("--natpmp-gateway %q: want an IPv4 address", f.natpmpGateway)}
		}
	}
	return nil
}

// startPortForwarding asks the router to forward the session's ports, as
// Transmission and qBittorrent do by default, and keeps the session told
// how it goes (announces carry the mapped port; snapshots, the UI and
// --json show it). It returns what removes the mappings. Nothing is tried
// with --no-port-forwarding, or when the session listens on loopback only
// (nothing outside this host could use the mapping).
func (f *swarmFlags) startPortForwarding(e env, s *swarm.Session) (stop func()) {
	if f.noPortForwarding || s.Addr().Addr().IsLoopback() {
		s.SetNetwork(swarm.NetworkSnapshot{Forwarding: forwardingOff})
		return func() {}
	}
	// uTP and the DHT share the UDP port of the TCP port's number, unless
	// --dht-port gave the DHT its own.
	ports := []portmap.Port{{Protocol: portmap.TCP, Internal: s.Port()}, {Protocol: portmap.UDP, Internal: s.Port()}}
	if d := s.DHT(); d != nil && d.Addr().Port() != s.Port() && d.Addr().Port() != 0 {
		ports = append(ports, portmap.Port{Protocol: portmap.UDP, Internal: d.Addr().Port()})
	}
	cfg := portmap.DefaultConfig(ports...)
	cfg.Logger = f.slogger(e)
	cfg.RootURL = f.upnpURL
	if f.natpmpGateway != "" {
		cfg.NATPMPGateway = netip.MustParseAddr(f.natpmpGateway) // validated
	}
	port := s.Port()
	cfg.OnStatus = func(st portmap.Status) { s.SetNetwork(networkSnapshot(st, port)) }
	m, err := portmap.Start(cfg)
	if err != nil {
		// A mapping that cannot be tried costs reachability, never the
		// download.
		cfg.Logger.Warn("port forwarding not started", "err", err)
		s.SetNetwork(swarm.NetworkSnapshot{Forwarding: err.Error()})
		return func() {}
	}
	return m.Close
}

// slogger is the logger the session gets: the UI's file, or stderr.
func (f *swarmFlags) slogger(e env) *slog.Logger {
	if f.logger != nil {
		return f.logger
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// networkSnapshot says a mapper's status in the session's terms: the TCP
// port is what peers dial, so it decides whether the port is open.
func networkSnapshot(st portmap.Status, tcpPort uint16) swarm.NetworkSnapshot {
	switch st.State {
	case portmap.StateSearching:
		return swarm.NetworkSnapshot{Forwarding: "searching"}
	case portmap.StateFailed:
		return swarm.NetworkSnapshot{Forwarding: st.Err}
	}
	m, ok := st.Mapped(portmap.TCP, tcpPort)
	if !ok {
		return swarm.NetworkSnapshot{Forwarding: st.Err}
	}
	n := swarm.NetworkSnapshot{Forwarding: string(st.Method), ExternalPort: m.External, PortOpen: true}
	if st.ExternalIP.IsValid() {
		n.ExternalIP = st.ExternalIP.String()
	}
	return n
}

// networkText says a NetworkSnapshot in a line, e.g. "port 6881
// forwarded via UPnP, external 203.0.113.7:6881".
func networkText(n swarm.NetworkSnapshot) string {
	switch {
	case n.PortOpen:
		ext := fmt.Sprintf("external port %d", n.ExternalPort)
		if n.ExternalIP != "" {
			ext = fmt.Sprintf("external %s:%d", n.ExternalIP, n.ExternalPort)
		}
		line := fmt.Sprintf("port %d forwarded via %s, %s", n.ListenPort, portmap.Method(n.Forwarding).Label(), ext)
		if ip, err := netip.ParseAddr(n.ExternalIP); err == nil && !publicAddr(ip) {
			line += " (a private address: another NAT beyond the router, e.g. the ISP's, may still keep peers out)"
		}
		return line
	case n.Forwarding == forwardingOff:
		return fmt.Sprintf("port %d: port forwarding off", n.ListenPort)
	case n.Forwarding == "searching":
		return fmt.Sprintf("port %d: looking for a UPnP, NAT-PMP or PCP gateway to forward it", n.ListenPort)
	}
	return fmt.Sprintf("port %d not forwarded: %s", n.ListenPort, n.Forwarding)
}

// network tells of a change in the session's reachability, from the
// torrents' snapshots, so it is said from the one goroutine that prints.
// Forwarding that was switched off is not worth a line.
func (r *reporter) network(snaps []*swarm.Snapshot) {
	if len(snaps) == 0 {
		return
	}
	n := snaps[0].Network
	if n.Forwarding == "" || n == r.lastNet {
		return // nothing known yet, or nothing new
	}
	first := r.lastNet.Forwarding == ""
	r.lastNet = n
	if first && n.Forwarding == forwardingOff {
		return
	}
	r.event("port_forwarding", map[string]any{"listen_port": n.ListenPort, "forwarding": n.Forwarding,
		"external_ip": n.ExternalIP, "external_port": n.ExternalPort, "port_open": n.PortOpen}, networkText(n))
}

// cgnat is the shared address space ISPs put customers' routers in (RFC
// 6598): a mapping there opens the port only as far as the ISP's NAT.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// publicAddr says whether ip is reachable from the internet at large.
func publicAddr(ip netip.Addr) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip)
}
