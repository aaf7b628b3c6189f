package swarm

import "sync"

// NetworkSnapshot is what the session knows about being reachable from the
// internet: a peer behind a home router can be dialled only through a port
// mapping, and people want to see whether theirs worked. Whatever maps the
// port (UPnP, NAT-PMP) reports here through Session.SetNetwork; the session
// only shows it and announces the mapped port.
type NetworkSnapshot struct {
	// ListenPort is the local TCP (and uTP) port.
	ListenPort uint16 `json:"listen_port"`
	// Forwarding names the mapping in use ("upnp", "nat-pmp"), or says
	// "off", "searching" or why it failed.
	Forwarding string `json:"forwarding,omitempty"`
	// ExternalIP and ExternalPort are the gateway's side of the mapping;
	// empty and 0 while unknown.
	ExternalIP   string `json:"external_ip,omitempty"`
	ExternalPort uint16 `json:"external_port,omitempty"`
	// PortOpen is true while a mapping is in place.
	PortOpen bool `json:"port_open"`
}

// SetNetwork records the session's reachability: every torrent's next
// snapshot shows it, and announces carry the mapped external port once
// there is one, so peers the tracker hands us can reach us through the
// gateway. When that port changes every torrent announces again at once,
// as Transmission and libtorrent do: the first announce went out before
// the router had answered.
func (s *Session) SetNetwork(n NetworkSnapshot) {
	n.ListenPort = s.port
	before := s.announcePort()
	s.network.Store(&n)
	if s.announcePort() != before {
		s.portMoved.fire()
	}
	// An idle torrent publishes only on events: this is one, or its
	// snapshot would show the old reachability until a peer came.
	for _, t := range s.Torrents() {
		t.poke()
	}
}

// portWatch is a broadcast: wait's channel closes at the next fire. The
// zero value is ready.
type portWatch struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *portWatch) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *portWatch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// Network returns the latest reachability SetNetwork recorded.
func (s *Session) Network() NetworkSnapshot {
	if n := s.network.Load(); n != nil {
		return *n
	}
	return NetworkSnapshot{ListenPort: s.port}
}

// announcePort is the port peers should dial: the gateway's mapped port
// while a mapping is open, the listen port otherwise.
func (s *Session) announcePort() uint16 {
	if n := s.network.Load(); n != nil && n.PortOpen && n.ExternalPort != 0 {
		return n.ExternalPort
	}
	return s.port
}
