package tracker

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// queryOutcome is what an announce takes from its query, however it was
// read.
type queryOutcome struct {
	malformed, badNumWant bool
	f                     announceFields
	compact, noPeerID     bool
	ip                    netip.Addr
}

// referenceQuery reads a query with url.ParseQuery and Values.Get, as
// the handler did before parseAnnounceQuery: the behaviour clients met.
func referenceQuery(raw string) queryOutcome {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return queryOutcome{malformed: true}
	}
	num := func(k string, missing int64) int64 {
		v := q.Get(k)
		if v == "" {
			return missing
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	o := queryOutcome{f: announceFields{InfoHash: q.Get("info_hash"), PeerID: q.Get("peer_id"), Port: max(num("port", 0), 0),
		Left: num("left", -1), Uploaded: num("uploaded", 0), Downloaded: num("downloaded", 0), NumWant: 50}}
	switch q.Get("event") {
	case "", "empty", "paused":
	case "started":
		o.f.Event = EventStarted
	case "completed":
		o.f.Event = EventCompleted
	case "stopped":
		o.f.Event = EventStopped
	default:
		o.f.Event = eventUnknown
	}
	if v := q.Get("numwant"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return queryOutcome{badNumWant: true}
		}
		o.f.NumWant = n
	}
	o.compact = q.Get("compact") != "0"
	o.noPeerID = q.Get("no_peer_id") == "1"
	if a, err := netip.ParseAddr(q.Get("ip")); err == nil {
		o.ip = a
	}
	return o
}

// parsedQuery reads a query with parseAnnounceQuery.
func parsedQuery(raw string) queryOutcome {
	var q announceQuery
	if !parseAnnounceQuery(raw, true, &q) {
		return queryOutcome{malformed: true}
	}
	if q.numWantBad {
		return queryOutcome{badNumWant: true}
	}
	o := queryOutcome{f: q.fields(50), compact: q.compact, noPeerID: q.noPeerID, ip: q.ip}
	// The IDs are judged by length only past 20 bytes: compare as check
	// sees them.
	o.f.InfoHash, o.f.PeerID = strings.Clone(o.f.InfoHash), strings.Clone(o.f.PeerID)
	return o
}

// sameOutcome compares two readings; IDs longer than 20 bytes are all
// equally wrong, so only their being too long is compared.
func sameOutcome(a, b queryOutcome) bool {
	id := func(s string) string {
		if len(s) > 20 {
			return "too long"
		}
		return s
	}
	a.f.InfoHash, a.f.PeerID = id(a.f.InfoHash), id(a.f.PeerID)
	b.f.InfoHash, b.f.PeerID = id(b.f.InfoHash), id(b.f.PeerID)
	return a == b
}

// comparable reports whether raw is a query on which parseAnnounceQuery
// promises url.ParseQuery's reading: it refuses more parameters than
// net/url does, and an ip parameter longer than an address can be.
func comparable(raw string) bool {
	if strings.Count(raw, "&") >= maxQueryParams {
		return false
	}
	q, err := url.ParseQuery(raw)
	return err != nil || len(q.Get("ip")) <= 64
}

// TestAnnounceQueryReadsAsParseQueryDid: the allocation-free reading of
// an announce query agrees with url.ParseQuery's on what real and
// hostile clients send.
func TestAnnounceQueryReadsAsParseQueryDid(t *testing.T) {
	ih := strings.Repeat("%AB", 20)
	for _, raw := range []string{
		"",
		"info_hash=" + ih + "&peer_id=-qB4650-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=1000&corrupt=0&key=AB12&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0",
		"info_hash=" + ih + "&peer_id=" + strings.Repeat("%00", 20) + "&port=1&left=0&compact=0",
		"info_hash=" + ih + "%AB&peer_id=x",                    // 21 bytes
		"info_hash=" + strings.Repeat("%ab", 19) + "&peer_id=", // 19 bytes, empty ID
		"info_hash=" + strings.Repeat("a", 40),
		"info%5Fhash=" + ih + "&peer%5fid=" + strings.Repeat("b", 20), // escaped keys
		"info_hash=" + ih + "&info_hash=other&port=5&port=6",          // first wins
		"port=+1&left=%2B5&uploaded=-0&downloaded=-9223372036854775808",
		"port=9223372036854775807&left=9223372036854775808&uploaded=-9223372036854775809",
		"port=00000000000000000000000000000000000000000000000000000001&left=1_000",
		"port=&left=&uploaded=&downloaded=&numwant=&event=&compact=&no_peer_id=",
		"port=0x10&left=1e3&uploaded= 1&downloaded=1+",
		"port=%36%38%38%31&left=%30",
		"numwant=lots", "numwant=-1", "numwant=%2D5", "numwant=99999999999999999999", "numwant=+7",
		"event=empty", "event=paused", "event=stopped", "event=completed", "event=Started", "event=st%61rted", "event=startedx",
		"compact=0", "compact=%30", "compact=00", "compact=1&compact=0", "no_peer_id=%31", "no_peer_id=true",
		"ip=10.1.2.3", "ip=%3A%3A1", "ip=::ffff:1.2.3.4", "ip=fe80::1%25eth0", "ip=1.2.3", "ip=",
		"a=1;b=2", "info_hash=%zz", "peer_id=%", "port=%4", "%=1", "x%=1", "=&&=&", "&&&", "=", "==", "a==b",
		"info_hash", "port", "left&port=5", "+port=5", "port+=5", "port=5&port",
		strings.Repeat("x=1&", 99) + "port=5",
	} {
		if !comparable(raw) {
			t.Fatalf("%q: not comparable", raw)
		}
		if got, want := parsedQuery(raw), referenceQuery(raw); !sameOutcome(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
	}
	// Past the bound the query is refused, not read in part.
	if !parsedQuery(strings.Repeat("x=1&", maxQueryParams) + "port=5").malformed {
		t.Error("a query of too many parameters is read")
	}
}

// TestAnnounceQueryAllocatesNothing: reading a real client's query costs
// no allocation.
func TestAnnounceQueryAllocatesNothing(t *testing.T) {
	raw := "info_hash=" + strings.Repeat("%AB", 20) + "&peer%5Fid=-qB4650-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=1000&event=started&numwant=200&compact=1&no_peer_id=1&key=x+y"
	var q announceQuery
	if n := testing.AllocsPerRun(100, func() { parseAnnounceQuery(raw, false, &q) }); n != 0 {
		t.Errorf("%v allocations per query", n)
	}
	if q.infoHashLen != 20 || q.peerIDLen != 20 || q.port != 6881 || q.left != 1000 || q.numWant != 200 || q.event != EventStarted {
		t.Errorf("read %+v", q)
	}
}

// FuzzAnnounceQuery: on any query, parseAnnounceQuery reads what
// url.ParseQuery and Values.Get read, and never panics.
func FuzzAnnounceQuery(f *testing.F) {
	f.Add("info_hash=" + strings.Repeat("%01", 20) + "&peer_id=" + strings.Repeat("a", 20) + "&port=6881&left=0&compact=1")
	f.Add("info%5Fhash=x&port=-1&left=%2B5&numwant=999999999999999999999&event=st%61rted&ip=::1")
	f.Add("port=9223372036854775808&left=-9223372036854775808&compact=%30&no_peer_id=%31&a=1;b")
	f.Add("info_hash=%zz&peer_id=%&port=+1&=&&")
	f.Fuzz(func(t *testing.T, raw string) {
		if !comparable(raw) {
			parsedQuery(raw)
			return
		}
		if got, want := parsedQuery(raw), referenceQuery(raw); !sameOutcome(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

// BenchmarkAnnounceQuery reads trackerbench's announce query.
func BenchmarkAnnounceQuery(b *testing.B) {
	raw := "info_hash=" + url.QueryEscape("\x12\x9e\x37\x79\xb9\x7f\x4a\x7ctrackerbench") +
		"&peer_id=" + url.QueryEscape("-TB0001-\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x12\x34") +
		"&port=1077&uploaded=0&downloaded=0&left=2&compact=1&numwant=50"
	var q announceQuery
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		parseAnnounceQuery(raw, false, &q)
	}
}
