package portmap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
	"github.com/huin/goupnp/ssdp"
)

// searchTarget is what the SSDP search asks for. An IGD:2 router answers
// it too: UPnP devices answer searches for lower versions of their type.
const searchTarget = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"

// UPnP error codes from the WANIPConnection specification that change
// what shoal does.
const (
	upnpConflict      = 718 // ConflictInMappingEntry: another host has it
	upnpOnlyPermanent = 725 // OnlyPermanentLeasesSupported
)

// igdClient is what WANIPConnection1/2 and WANPPPConnection1 share.
type igdClient interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, external uint16, protocol string, internal uint16,
		client string, enabled bool, description string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, external uint16, protocol string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	GetServiceClient() *goupnp.ServiceClient
}

// findUPnP finds an Internet Gateway Device: from RootURL, or through an
// SSDP search.
func (m *Mapper) findUPnP(ctx context.Context) (gateway, error) {
	client := boundedHTTP(m.cfg.RequestTimeout, m.cfg.MaxBody)
	if m.cfg.RootURL != "" {
		loc, err := url.Parse(m.cfg.RootURL)
		if err != nil {
			return nil, fmt.Errorf("UPnP: %w", err)
		}
		return m.upnpAt(ctx, client, loc)
	}
	locs, err := m.search(ctx)
	if err != nil {
		return nil, fmt.Errorf("UPnP: %w", err)
	}
	var why []string
	for _, loc := range locs {
		gw, err := m.upnpAt(ctx, client, loc)
		if err == nil {
			return gw, nil
		}
		why = append(why, err.Error())
	}
	return nil, errors.New(strings.Join(why, "; "))
}

// search sends an SSDP M-SEARCH to SSDPAddr and returns the locations of
// the root descriptions the gateways that answered gave.
func (m *Mapper) search(ctx context.Context) ([]*url.URL, error) {
	dst, err := net.ResolveUDPAddr("udp4", m.cfg.SSDPAddr)
	if err != nil {
		return nil, err
	}
	hc := &ssdpClient{dst: dst, wait: m.cfg.SearchWait}
	resps, err := ssdp.SSDPRawSearchCtx(ctx, hc, searchTarget, 1, 2)
	if err != nil {
		return nil, fmt.Errorf("SSDP search: %w", err)
	}
	var locs []*url.URL
	for _, r := range resps {
		if loc, ok := usableLocation(r); ok {
			locs = append(locs, loc)
		} else {
			m.cfg.Logger.Debug("SSDP: ignoring a location not on the answering host", "location", r.Header.Get("Location"), "from", r.Header.Get(fromHeader))
		}
	}
	switch {
	case len(locs) > 0:
		return locs, nil
	case len(resps) > 0:
		return nil, fmt.Errorf("%d SSDP answers ignored: their location is not an http URL on the answering host", len(resps))
	}
	return nil, fmt.Errorf("no gateway answered the SSDP search within %v", m.cfg.SearchWait)
}

// usableLocation is an SSDP answer's location if it is one to fetch: a
// device may only point at itself, by address. An answer naming another
// host, or a name to resolve, would have shoal fetch from anywhere.
func usableLocation(r *http.Response) (*url.URL, bool) {
	loc, err := r.Location()
	if err != nil || loc.Scheme != "http" {
		return nil, false
	}
	host, err := netip.ParseAddr(loc.Hostname())
	if err != nil || host.Unmap().String() != r.Header.Get(fromHeader) {
		return nil, false
	}
	return loc, true
}

// upnpAt reads the root description at loc and picks its WAN connection
// service.
func (m *Mapper) upnpAt(ctx context.Context, client *http.Client, loc *url.URL) (gateway, error) {
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RequestTimeout)
	defer cancel()
	root, err := fetchRoot(rctx, client, loc)
	if err != nil {
		return nil, fmt.Errorf("UPnP gateway %s: %w", loc.Host, err)
	}
	c, err := wanClient(root, loc)
	if err != nil {
		return nil, fmt.Errorf("UPnP gateway %s: %w", loc.Host, err)
	}
	sc := c.GetServiceClient().SOAPClient
	sc.HTTPClient = *client
	local, err := localAddrToward(sc.EndpointURL.Host)
	if err != nil {
		return nil, fmt.Errorf("UPnP gateway %s: %w", loc.Host, err)
	}
	return &upnpGateway{c: c, host: sc.EndpointURL.Host, local: local.String(), desc: m.cfg.Description}, nil
}

// fetchRoot reads a root device description, bounded in size by client.
func fetchRoot(ctx context.Context, client *http.Client, loc *url.URL) (*goupnp.RootDevice, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("root description: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("root description: HTTP %d", resp.StatusCode)
	}
	root, err := decodeRoot(resp.Body, loc)
	if err != nil {
		return nil, fmt.Errorf("root description: %w", err)
	}
	return root, nil
}

// decodeRoot parses a root device description found at loc.
func decodeRoot(r io.Reader, loc *url.URL) (*goupnp.RootDevice, error) {
	root := new(goupnp.RootDevice)
	dec := xml.NewDecoder(r)
	dec.DefaultSpace = goupnp.DeviceXMLNamespace
	if err := dec.Decode(root); err != nil {
		return nil, err
	}
	// The control URLs are resolved against URLBase when there is one;
	// one pointing at another host is ignored, as a location is.
	base := loc
	if root.URLBaseStr != "" {
		if u, err := url.Parse(root.URLBaseStr); err == nil && u.Host == loc.Host && u.Scheme == "http" {
			base = u
		}
	}
	root.SetURLBase(base)
	return root, nil
}

// wanClient returns the device's WAN connection service, the newest
// version first, whose control URL is on the device's own host.
func wanClient(root *goupnp.RootDevice, loc *url.URL) (igdClient, error) {
	var found []igdClient
	if cs, err := internetgateway2.NewWANIPConnection2ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			found = append(found, c)
		}
	}
	if cs, err := internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			found = append(found, c)
		}
	}
	if cs, err := internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			found = append(found, c)
		}
	}
	for _, c := range found {
		if u := c.GetServiceClient().SOAPClient.EndpointURL; u.Host == loc.Host && u.Scheme == "http" {
			return c, nil
		}
	}
	if len(found) > 0 {
		return nil, errors.New("its WAN connection service is on another host")
	}
	return nil, errors.New("no WANIPConnection or WANPPPConnection service: not an Internet gateway")
}

// localAddrToward is this host's address on the route to hostport, which
// the gateway must forward to. Dialling UDP sends nothing.
func localAddrToward(hostport string) (netip.Addr, error) {
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(hostport, "80")
	}
	c, err := net.Dial("udp4", hostport)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("no route to it: %w", err)
	}
	defer c.Close()
	ap, err := netip.ParseAddrPort(c.LocalAddr().String())
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap(), nil
}

// upnpGateway forwards ports through an IGD's WAN connection service.
type upnpGateway struct {
	c     igdClient
	host  string
	local string
	desc  string
}

func (g *upnpGateway) method() Method { return UPnP }
func (g *upnpGateway) where() string  { return g.host }

func (g *upnpGateway) externalIP(ctx context.Context) (netip.Addr, error) {
	s, err := g.c.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return netip.Addr{}, soapError("GetExternalIPAddress", err)
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || ip.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("GetExternalIPAddress: %q is not an address", reason(errors.New(s)))
	}
	return ip.Unmap(), nil
}

func (g *upnpGateway) add(ctx context.Context, p Port, external uint16, lease time.Duration) (uint16, time.Duration, error) {
	err := g.c.AddPortMappingCtx(ctx, "", external, string(p.Protocol), p.Internal, g.local, true, g.desc, uint32(lease/time.Second))
	if upnpCode(err) == upnpOnlyPermanent {
		// Many routers grant only permanent mappings; Close removes it.
		lease = 0
		err = g.c.AddPortMappingCtx(ctx, "", external, string(p.Protocol), p.Internal, g.local, true, g.desc, 0)
	}
	if upnpCode(err) == upnpConflict {
		return 0, 0, fmt.Errorf("external port %d is forwarded to another host already", external)
	}
	if err != nil {
		return 0, 0, soapError("AddPortMapping", err)
	}
	return external, lease, nil
}

func (g *upnpGateway) remove(ctx context.Context, p Port, external uint16) error {
	return soapError("DeletePortMapping", g.c.DeletePortMappingCtx(ctx, "", external, string(p.Protocol)))
}

// upnpCode is the UPnP error code of a SOAP fault, or 0.
func upnpCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// soapError says a failed action in a line: a fault's code and
// description rather than its raw XML, a transport failure without the
// URL and library prefixes around it.
func soapError(action string, err error) error {
	if err == nil {
		return nil
	}
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return fmt.Errorf("%s refused: UPnP error %d %s", action, f.Detail.UPnPError.Errorcode, reason(errors.New(f.Detail.UPnPError.ErrorDescription)))
	}
	msg := strings.ReplaceAll(err.Error(), "goupnp: ", "")
	if strings.HasPrefix(msg, "error performing SOAP HTTP request: ") {
		// goupnp formats the *url.Error with %v: cut its method and URL.
		if i := strings.Index(msg, `": `); i >= 0 {
			msg = msg[i+3:]
		}
	}
	if strings.Contains(msg, "Timeout exceeded") || strings.Contains(msg, "context deadline exceeded") {
		msg = "no answer in time"
	}
	return fmt.Errorf("%s: %s", action, msg)
}

// fromHeader carries an SSDP answer's source address to the code that
// checks its location.
const fromHeader = "X-Shoal-From"

// maxSSDPAnswers bounds how many answers one search keeps: a LAN can hold
// many devices, or one that floods.
const maxSSDPAnswers = 16

// ssdpClient sends an SSDP search to one address and gathers the answers.
// goupnp's own client searches from every interface and logs through the
// global logger; this one is bounded (2 KiB a datagram, 16 answers,
// SearchWait) and quiet, and its destination can be a test's fake.
type ssdpClient struct {
	dst  *net.UDPAddr
	wait time.Duration
}

// Do implements ssdp.HTTPUClient.
func (c *ssdpClient) Do(req *http.Request, timeout time.Duration, sends int) ([]*http.Response, error) {
	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(min(timeout, c.wait))); err != nil {
		return nil, err
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s %s HTTP/1.1\r\n", req.Method, req.URL.RequestURI())
	req.Header.Write(&msg)
	msg.WriteString("\r\n")
	for range sends {
		if _, err := conn.WriteToUDP([]byte(msg.String()), c.dst); err != nil {
			return nil, err
		}
	}
	var out []*http.Response
	buf := make([]byte, 2048)
	for len(out) < maxSSDPAnswers {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || ctx.Err() != nil {
				break
			}
			return nil, err
		}
		resp, err := readSSDPAnswer(buf[:n], req)
		if err != nil {
			continue
		}
		resp.Header.Set(fromHeader, from.AddrPort().Addr().Unmap().String())
		out = append(out, resp)
		// goupnp sets the request's headers uncanonicalised.
		if _, ok := usableLocation(resp); ok && len(req.Header["ST"]) == 1 && resp.Header.Get("ST") == req.Header["ST"][0] {
			break // a gateway: no need to wait out the others
		}
	}
	return out, nil
}

// readSSDPAnswer parses one datagram as an HTTP 200 answer.
func readSSDPAnswer(b []byte, req *http.Request) (*http.Response, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, int64(len(b))))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SSDP answer with status %d", resp.StatusCode)
	}
	return resp, nil
}
