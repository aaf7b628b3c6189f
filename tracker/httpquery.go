package tracker

import (
	"net/netip"
	"unsafe"
)

// maxQueryParams bounds the &-separated parts of an announce query. A
// real client sends about fifteen; net/url allows 10,000. The scan is
// linear in a query net/http already capped (MaxHeaderBytes), so this is
// strictness, not a defence of the CPU.
const maxQueryParams = 100

// specialQueryBytes has a bit set for each byte the scan of a query
// stops at; all are below 64.
const specialQueryBytes = 1<<'%' | 1<<'&' | 1<<'+' | 1<<';' | 1<<'='

// announceQuery is an HTTP announce's parameters decoded in place: the
// percent-encoded binary IDs into fixed arrays, the numbers parsed from
// the escaped text, nothing allocated. It reads a query the way
// url.ParseQuery and Values.Get did, so every client is answered as
// before: the first value of a key wins, '+' is a space, a malformed
// escape or a semicolon anywhere makes the whole query malformed.
type announceQuery struct {
	// infoHash and peerID hold the first 21 decoded bytes; their lengths
	// stop at 21, which is as wrong as any longer length for check.
	infoHash, peerID       [21]byte
	infoHashLen, peerIDLen int
	port, left             int64
	uploaded, downloaded   int64
	event                  Event
	// numWant is set when numWantSet; numWantBad when it was given but
	// is not a number.
	numWant                int
	numWantSet, numWantBad bool
	compact, noPeerID      bool
	// ip is the ip parameter, kept only when the caller trusts it.
	ip   netip.Addr
	seen uint16 // which keys were met, by queryKey
}

// queryKey numbers the parameters an announce reads.
type queryKey int8

const (
	keyNone queryKey = iota - 1
	keyInfoHash
	keyPeerID
	keyPort
	keyLeft
	keyUploaded
	keyDownloaded
	keyEvent
	keyNumWant
	keyCompact
	keyNoPeerID
	keyIP
)

func lookupKey(k string) queryKey {
	switch k {
	case "info_hash":
		return keyInfoHash
	case "peer_id":
		return keyPeerID
	case "port":
		return keyPort
	case "left":
		return keyLeft
	case "uploaded":
		return keyUploaded
	case "downloaded":
		return keyDownloaded
	case "event":
		return keyEvent
	case "numwant":
		return keyNumWant
	case "compact":
		return keyCompact
	case "no_peer_id":
		return keyNoPeerID
	case "ip":
		return keyIP
	}
	return keyNone
}

// parseAnnounceQuery fills q from the raw query; false means it is
// malformed. The ip parameter is parsed only when wantIP. It is one pass
// over the query, checking escapes as it finds the parts, and a second
// over each value the announce reads.
func parseAnnounceQuery(raw string, wantIP bool, q *announceQuery) bool {
	*q = announceQuery{left: -1, compact: true}
	parts := 0
	for i := 0; i < len(raw); i++ {
		if parts++; parts > maxQueryParams {
			return false
		}
		start, eq := i, -1
		escaped := false // the key holds '%' or '+'
		for ; i < len(raw); i++ {
			c := raw[i]
			if c >= 64 || specialQueryBytes>>c&1 == 0 {
				continue
			}
			if c == '&' {
				break
			}
			switch c {
			case '%':
				if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
					return false
				}
				i += 2
				escaped = escaped || eq < 0
			case '+':
				escaped = escaped || eq < 0
			case '=':
				if eq < 0 {
					eq = i
				}
			case ';':
				return false
			}
		}
		if i == start {
			continue // an empty part
		}
		k, v := raw[start:i], ""
		if eq >= 0 {
			k, v = raw[start:eq], raw[eq+1:i]
		}
		key := lookupKey(k)
		if escaped {
			key = decodeKey(k)
		}
		if key == keyNone || q.seen&(1<<key) != 0 {
			continue
		}
		q.seen |= 1 << key
		q.set(key, v, wantIP)
	}
	// A query ending in '&' has an empty last part, which counts.
	if len(raw) > 0 && raw[len(raw)-1] == '&' && parts+1 > maxQueryParams {
		return false
	}
	return true
}

// set reads the first value v of key.
func (q *announceQuery) set(key queryKey, v string, wantIP bool) {
	switch key {
	case keyInfoHash:
		q.infoHashLen = decodeInto(q.infoHash[:], v)
	case keyPeerID:
		q.peerIDLen = decodeInto(q.peerID[:], v)
	case keyPort:
		q.port = max(queryNum(v, 0), 0)
	case keyLeft:
		q.left = queryNum(v, -1)
	case keyUploaded:
		q.uploaded = queryNum(v, 0)
	case keyDownloaded:
		q.downloaded = queryNum(v, 0)
	case keyEvent:
		q.event = queryEvent(v)
	case keyNumWant:
		if v != "" {
			n, ok := parseQueryInt(v)
			q.numWant, q.numWantSet, q.numWantBad = int(n), ok, !ok
		}
	case keyCompact:
		q.compact = !decodedIs(v, "0")
	case keyNoPeerID:
		q.noPeerID = decodedIs(v, "1")
	case keyIP:
		if wantIP {
			q.ip = queryAddr(v)
		}
	}
}

// fields hands q to the shared validation. The IDs are read in place:
// f must not outlive q.
func (q *announceQuery) fields(defaultNumWant int) announceFields {
	f := announceFields{Port: q.port, Left: q.left, Uploaded: q.uploaded, Downloaded: q.downloaded,
		Event: q.event, NumWant: defaultNumWant}
	if q.infoHashLen > 0 {
		f.InfoHash = unsafe.String(&q.infoHash[0], q.infoHashLen)
	}
	if q.peerIDLen > 0 {
		f.PeerID = unsafe.String(&q.peerID[0], q.peerIDLen)
	}
	if q.numWantSet {
		f.NumWant = q.numWant
	}
	return f
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// decodedAt is the byte of escaped text s, its escapes checked, that starts at i,
// and where the next one starts.
func decodedAt(s string, i int) (byte, int) {
	switch c := s[i]; c {
	case '%':
		return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
	case '+':
		return ' ', i + 1
	default:
		return c, i + 1
	}
}

// decodeInto decodes s, its escapes checked, into dst as far as it fits and returns
// the decoded length, counted no further than len(dst).
func decodeInto(dst []byte, s string) int {
	n := 0
	for i := 0; i < len(s) && n < len(dst); n++ {
		switch c := s[i]; c {
		case '%':
			dst[n] = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 3
		case '+':
			dst[n] = ' '
			i++
		default:
			dst[n] = c
			i++
		}
	}
	return n
}

// decodedIs reports whether validated s decodes to want.
func decodedIs(s, want string) bool {
	if len(s) < len(want) {
		return false
	}
	n := 0
	for i := 0; i < len(s); n++ {
		var c byte
		c, i = decodedAt(s, i)
		if n >= len(want) || c != want[n] {
			return false
		}
	}
	return n == len(want)
}

// decodeKey names the parameter escaped key k is, if the announce
// reads it.
func decodeKey(k string) queryKey {
	var b [len("no_peer_id")]byte
	n := 0
	for i := 0; i < len(k); n++ {
		if n == len(b) {
			return keyNone // longer than every key read
		}
		b[n], i = decodedAt(k, i)
	}
	return lookupKey(string(b[:n])) // a conversion that does not escape is not allocated
}

// queryNum is a numeric parameter: missing when empty, -1 when not a
// number, which check refuses with the words UDP gets.
func queryNum(v string, missing int64) int64 {
	if v == "" {
		return missing
	}
	n, ok := parseQueryInt(v)
	if !ok {
		return -1
	}
	return n
}

// parseQueryInt is strconv.ParseInt(s, 10, 64) over the decoded form of
// validated s, without decoding it anywhere: an optional sign, then at
// least one digit, nothing else, no overflow.
func parseQueryInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	i := 0
	c, next := decodedAt(s, i)
	neg := false
	if c == '+' || c == '-' {
		neg, i = c == '-', next
	}
	if i == len(s) {
		return 0, false
	}
	const limit = 1 << 63 // magnitude of the most negative int64
	var u uint64
	for i < len(s) {
		c, i = decodedAt(s, i)
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (limit-d)/10 { // u*10+d would pass the limit
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		return -int64(u), true // -1<<63 wraps to itself, as it should
	}
	if u > limit-1 {
		return 0, false
	}
	return int64(u), true
}

// queryEvent maps the event parameter; what it does not know is
// eventUnknown, which check refuses.
func queryEvent(v string) Event {
	switch {
	case v == "", decodedIs(v, "empty"), decodedIs(v, "paused"):
		return EventNone
	case decodedIs(v, "started"):
		return EventStarted
	case decodedIs(v, "completed"):
		return EventCompleted
	case decodedIs(v, "stopped"):
		return EventStopped
	}
	return eventUnknown
}

// queryAddr parses the ip parameter; anything longer than an address
// with a short zone is not one.
func queryAddr(v string) netip.Addr {
	var b [64]byte
	if len(v) > 3*len(b) {
		return netip.Addr{}
	}
	n := 0
	for i := 0; i < len(v); n++ {
		if n == len(b) {
			return netip.Addr{}
		}
		b[n], i = decodedAt(v, i)
	}
	a, err := netip.ParseAddr(string(b[:n]))
	if err != nil {
		return netip.Addr{}
	}
	return a
}
