package tracker

import (
	"net/netip"
	"time"
)

// announceFields is an announce as a front-end decoded it, before any
// check. Both front-ends fill it and both call check, so HTTP and UDP can
// never disagree on what a valid announce is. BEP 15's unsigned 64-bit
// fields are read as signed, so a client's -1 is -1 on both sides; a
// field a front-end could not read at all (an HTTP value that is not a
// number) is given an invalid value, so check names it the same way.
type announceFields struct {
	InfoHash, PeerID           string
	Port                       int64
	Left, Uploaded, Downloaded int64
	Event                      Event // eventUnknown when the front-end did not recognise it
	NumWant                    int
	IP                         netip.Addr
}

// eventUnknown marks an event a front-end could not map.
const eventUnknown Event = 255

// Refusals shared by both front-ends, word for word.
var (
	errInfoHash   = refusal{"info_hash must be 20 bytes"}
	errPeerID     = refusal{"peer_id must be 20 bytes"}
	errPort       = refusal{"port must be 1..65535"}
	errLeft       = refusal{"left must be a non-negative number"}
	errUploaded   = refusal{"uploaded must be a non-negative number"}
	errDownloaded = refusal{"downloaded must be a non-negative number"}
	errEvent      = refusal{"unknown event"}
	errAddress    = refusal{"cannot tell your address"}
)

// check validates the announce and turns it into a request for the
// store. It is the only place announce fields are judged.
func (f *announceFields) check(now time.Time) (AnnounceRequest, error) {
	var req AnnounceRequest
	switch {
	case len(f.InfoHash) != len(req.InfoHash):
		return req, errInfoHash
	case len(f.PeerID) != len(req.Peer.ID):
		return req, errPeerID
	case f.Port < 1 || f.Port > 65535:
		return req, errPort
	case f.Left < 0:
		return req, errLeft
	case f.Uploaded < 0:
		return req, errUploaded
	case f.Downloaded < 0:
		return req, errDownloaded
	case f.Event > EventStopped:
		return req, errEvent
	case !f.IP.IsValid():
		return req, errAddress
	}
	copy(req.InfoHash[:], f.InfoHash)
	copy(req.Peer.ID[:], f.PeerID)
	req.Peer.Addr = netip.AddrPortFrom(f.IP, uint16(f.Port))
	req.Peer.Seed = f.Left == 0
	req.Event = f.Event
	req.NumWant = f.NumWant
	req.Now = now
	return req, nil
}
