package swarm

import (
	"slices"

	"strings"
	"time"

	"github.com/shoal-torrent/shoal/piece/picker"
)

// State is a torrent's phase, as shown to people.
type State string

// The phases a torrent goes through.
const (
	StateChecking    State = "checking"
	StateDownloading State = "downloading"
	StateSeeding     State = "seeding"
	StateError       State = "error"
	StatePaused      State = "paused"
	StateStopped     State = "stopped"
)

// Piece states in Snapshot.Pieces.
const (
	PieceMissing     byte = 0
	PieceDownloading byte = 1
	PieceHave        byte = 2
)

// Snapshot is a plain copy of a torrent's state, published a few times a
// second. Readers (progress lines, the terminal UI) get the latest value
// and never hold up the swarm. Snapshots share slices (Pieces,
// Availability) with their predecessors: readers must not modify them.
type Snapshot struct {
	At          time.Time
	Name        string
	InfoHash    string
	State       State
	Error       string // why the torrent is in StateError
	Size        int64  // the files' bytes, padding left out, as Left and Progress count
	NumPieces   int
	PieceLength int64
	Have        int   // verified pieces
	Left        int64 // bytes still to download
	Progress    float64
	Downloaded  int64 // block bytes received this session
	Uploaded    int64 // block bytes sent this session
	DownRate    float64
	UpRate      float64
	Ratio       float64       // uploaded / size
	ETA         time.Duration // 0 when unknown or done
	Seeds       int
	Peers       []PeerSnapshot
	// Pieces holds a PieceMissing/Downloading/Have byte per piece and
	// Availability how many connected peers have each.
	Pieces       []byte
	Availability []uint16
	Trackers     []TrackerSnapshot
	// WebSeedsDropped are the web seeds the torrent stopped using, in
	// the order dropped, so a front end can say so once each.
	WebSeedsDropped []WebSeedDrop
	// Violations counts peers dropped for breaking the protocol,
	// HashFails pieces that failed verification, Banned IPs refused.
	Violations int
	HashFails  int
	Banned     int
	Wasted     int64
	// UploadSlots holds the addresses of the peers we unchoked.
	UploadSlots []string
	Files       []FileSnapshot
	// DHTNodes is the session's DHT routing table size (0 without a DHT
	// or for a private torrent, which never uses it). DHT says whether
	// the torrent uses a DHT at all, so "no nodes" can be told from "off".
	DHTNodes int
	DHT      bool
	Private  bool
	// Network is the session's reachability (listen port, port mapping).
	Network NetworkSnapshot
}

// FileSnapshot is one file's share of the download.
type FileSnapshot struct {
	Path     string
	Size     int64
	Progress float64 // share of its bytes in verified pieces
	Priority string  // skip, normal or high
}

// PeerSnapshot describes one connection.
type PeerSnapshot struct {
	Addr           string
	Client         string
	Source         string
	Incoming       bool
	Encrypted      bool // RC4 after an MSE handshake
	UTP            bool // carried over uTP (BEP 29) rather than TCP
	AmChoking      bool
	AmInterested   bool
	PeerChoking    bool
	PeerInterested bool
	Optimistic     bool
	Snubbed        bool
	DownRate       float64
	UpRate         float64
	Progress       float64
	Downloaded     int64
	Uploaded       int64
	// Have is the peer's set of pieces as a BEP 3 bitfield (piece 0 in
	// the high bit of byte 0), for the UI to draw beside availability.
	// It is nil for a peer with all pieces or none (Progress says
	// which), and for peers past the publish's budget in a huge swarm.
	Have []byte
}

// peerBitsBudget bounds the bytes of peer bitfields one publish copies:
// a peer costs NumPieces/8 bytes (250 for 2,000 pieces, 20 KB for 80
// such peers), which only torrents of hundreds of thousands of pieces
// with many partial peers reach.
const peerBitsBudget = 1 << 20

// Flags renders the connection state in the letters Transmission uses:
// D/d we download or want to, U/u we upload or they want to, O optimistic,
// S snubbed, E encrypted, T over uTP, I incoming, X from peer exchange, H
// from the DHT, L from local peer discovery, W a web seed (BEP 19). A peer from a tracker has no
// letter, as in Transmission, so T keeps the meaning its users know.
func (p PeerSnapshot) Flags() string {
	var b strings.Builder
	switch {
	case p.AmInterested && !p.PeerChoking:
		b.WriteByte('D')
	case p.AmInterested:
		b.WriteByte('d')
	}
	switch {
	case p.PeerInterested && !p.AmChoking:
		b.WriteByte('U')
	case p.PeerInterested:
		b.WriteByte('u')
	}
	if p.Optimistic {
		b.WriteByte('O')
	}
	if p.Snubbed {
		b.WriteByte('S')
	}
	if p.Encrypted {
		b.WriteByte('E')
	}
	if p.UTP {
		b.WriteByte('T')
	}
	if p.Incoming {
		b.WriteByte('I')
	}
	switch p.Source {
	case "pex":
		b.WriteByte('X')
	case "dht":
		b.WriteByte('H')
	case "lsd":
		b.WriteByte('L')
	case "webseed":
		b.WriteByte('W')
	}
	return b.String()
}

// TrackerSnapshot describes one tracker's announces.
type TrackerSnapshot struct {
	URL          string
	Tier         int
	Status       string
	LastError    string
	LastAnnounce time.Time
	NextAnnounce time.Time
	Seeders      int
	Leechers     int
	PeersGot     int
}

// WebSeedDrop is a web seed no longer used, and why (a 404, a server
// that ignores ranges, data that failed its hash, failures without end).
type WebSeedDrop struct {
	URL string // with any credentials redacted
	Err string
}

// publish builds and stores a snapshot.
func (l *loop) publish(now time.Time) {
	t := l.t
	s := &Snapshot{
		At: now, Name: t.m.Name, InfoHash: t.m.InfoHash.HexString(), Size: l.layout.DataTotal,
		NumPieces: l.layout.NumPieces, PieceLength: l.layout.PieceLength, Have: l.picker.HaveCount(),
		Left: t.left.Load(), Downloaded: t.downloadedTotal.Load(), Uploaded: t.uploadedTotal.Load(),
		DownRate: l.downMeter.rate(5), UpRate: l.upMeter.rate(5), Violations: l.violations,
		HashFails: l.hashFails, Banned: l.blame.BannedCount(), Wasted: l.wasted,
	}
	// The share of the files' bytes verified, as Size and Left count
	// them: exactly 1 once nothing is left.
	s.Progress = float64(s.Have) / float64(max(s.NumPieces, 1))
	if s.Size > 0 {
		s.Progress = float64(s.Size-s.Left) / float64(s.Size)
	}
	s.Private = t.m.Private
	s.Network = t.s.Network()
	if d := t.s.dht; d != nil && !t.m.Private {
		s.DHT, s.DHTNodes = true, d.Nodes()
	}
	s.Ratio = float64(s.Uploaded) / float64(max(s.Size, 1))
	switch {
	case l.ctx.Err() != nil:
		s.State = StateStopped
	case l.diskErr != nil:
		s.State, s.Error = StateError, l.diskErr.Error()
	case l.dataErr != nil:
		s.State, s.Error = StateError, l.dataErr.Error()
	case l.paused:
		s.State = StatePaused
	case l.seeding():
		s.State = StateSeeding
	default:
		s.State = StateDownloading
		if s.DownRate > 0 {
			s.ETA = time.Duration(float64(s.Left) / s.DownRate * float64(time.Second))
		}
	}
	s.Pieces, s.Availability = l.pieceStates(t.snap.Load())
	budget := peerBitsBudget
	for _, c := range l.conns {
		p := PeerSnapshot{
			Addr: c.addr.String(), Client: c.clientName, Source: c.source, Incoming: c.incoming,
			Encrypted: c.encrypted, UTP: c.utp,
			AmChoking: c.amChoking, AmInterested: c.amInterested, PeerChoking: c.peerChoking,
			PeerInterested: c.peerInterested, Optimistic: l.optimistic == c.id && l.hasOptimistic, Snubbed: c.snubbed,
			DownRate: c.downMeter.rate(5), UpRate: c.upMeter.rate(5),
			Progress:   float64(c.haveCount) / float64(max(l.layout.NumPieces, 1)),
			Downloaded: c.downloaded.Load(), Uploaded: c.uploaded.Load(),
		}
		if bf := l.picker.PeerPieces(c.id); bf != nil && bf.Count() > 0 && !bf.Full() && budget >= (bf.Len()+7)/8 {
			p.Have = bf.Wire()
			budget -= len(p.Have)
		}
		if c.seed {
			s.Seeds++
		}
		if !c.amChoking {
			s.UploadSlots = append(s.UploadSlots, p.Addr)
		}
		s.Peers = append(s.Peers, p)
	}
	s.Peers = append(s.Peers, l.webSnapshots(now)...)
	slices.SortFunc(s.Peers, func(a, b PeerSnapshot) int { return strings.Compare(a.Addr, b.Addr) })
	slices.Sort(s.UploadSlots)
	for _, a := range l.trackers {
		s.Trackers = append(s.Trackers, a.snapshot()...)
	}
	s.WebSeedsDropped = slices.Clone(l.webDrops)
	for _, i := range l.layout.ShownFiles() {
		f := &l.layout.Files[i]
		s.Files = append(s.Files, FileSnapshot{Path: strings.Join(f.Path, "/"), Size: f.Length,
			Progress: l.layout.FileProgress(i, l.picker.Verified()), Priority: priorityName(l.picker.FilePriority(i))})
	}
	t.snap.Store(s)
}

// pieceStates returns each piece's state and availability, sharing the
// previous snapshot's slices when nothing changed: a snapshot is never
// modified once published, and four times a second a fresh 3 bytes per
// piece was most of what a quiet torrent allocated.
func (l *loop) pieceStates(prev *Snapshot) ([]byte, []uint16) {
	n := l.layout.NumPieces
	var pieces []byte
	var avail []uint16
	if prev != nil && len(prev.Pieces) == n && len(prev.Availability) == n {
		pieces, avail = prev.Pieces, prev.Availability
	}
	shared := pieces != nil
	for i := range n {
		var p byte
		switch {
		case l.picker.Have(i):
			p = PieceHave
		case l.picker.Downloading(i):
			p = PieceDownloading
		}
		a := uint16(min(l.picker.Availability(i), 65535))
		if shared && pieces[i] == p && avail[i] == a {
			continue
		}
		if shared || pieces == nil {
			// The first difference: copy what matched so far, then
			// write on into slices of our own.
			pieces = append(make([]byte, 0, n), pieces[:i]...)[:n]
			avail = append(make([]uint16, 0, n), avail[:i]...)[:n]
			shared = false
		}
		pieces[i], avail[i] = p, a
	}
	return pieces, avail
}

func priorityName(p picker.Priority) string {
	switch p {
	case picker.Skip:
		return "skip"
	case picker.Low:
		return "low"
	case picker.High:
		return "high"
	}
	return "normal"
}
