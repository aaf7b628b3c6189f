package wire

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

func blockBuf(n int) []byte { return make([]byte, n) }

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendKeepAlive(b)
	b = AppendSimple(b, Unchoke)
	b = AppendIndex(b, Have, 7)
	b = AppendRequest(b, Request, 1, 16384, 16384)
	b = AppendPieceHeader(b, 2, 32768, 3)
	b = append(b, 'a', 'b', 'c')
	b = AppendPayload(b, Bitfield, 0, []byte{0xff, 0x80})
	b = AppendPayload(b, Extended, 0, []byte("de"))
	b = AppendPort(b, 6881)
	b = AppendSimple(b, HaveAll)
	b = AppendRequest(b, Reject, 3, 0, 100)
	r := NewReader(bytes.NewReader(b), 9)
	want := []Message{
		{ID: KeepAlive}, {ID: Unchoke}, {ID: Have, Index: 7}, {ID: Request, Index: 1, Begin: 16384, Length: 16384},
		{ID: Piece, Index: 2, Begin: 32768, Data: []byte("abc")}, {ID: Bitfield, Payload: []byte{0xff, 0x80}},
		{ID: Extended, ExtID: 0, Payload: []byte("de")}, {ID: Port, Port: 6881}, {ID: HaveAll},
		{ID: Reject, Index: 3, Length: 100},
	}
	for i, w := range want {
		var m Message
		if err := r.Read(&m, blockBuf); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ID != w.ID || m.Index != w.Index || m.Begin != w.Begin || m.Length != w.Length || m.Port != w.Port ||
			!bytes.Equal(m.Data, w.Data) || !bytes.Equal(m.Payload, w.Payload) {
			t.Fatalf("message %d: %+v, want %+v", i, m, w)
		}
	}
	var m Message
	if err := r.Read(&m, blockBuf); err != io.EOF {
		t.Fatalf("after the last message: %v", err)
	}
}

func TestReaderRefusesOversizedAndMalformed(t *testing.T) {
	cases := map[string][]byte{
		"huge piece":         {0, 1, 0, 10, byte(Piece), 0, 0, 0, 0, 0, 0, 0, 0},
		"huge length":        {0xff, 0xff, 0xff, 0xff, byte(Extended)},
		"wrong bitfield":     {0, 0, 0, 4, byte(Bitfield), 1, 2, 3},
		"have too long":      {0, 0, 0, 6, byte(Have), 0, 0, 0, 0, 0},
		"request too short":  {0, 0, 0, 5, byte(Request), 0, 0, 0, 0},
		"choke with payload": {0, 0, 0, 2, byte(Choke), 0},
		"piece too short":    {0, 0, 0, 5, byte(Piece), 0, 0, 0, 0},
		"unknown huge":       {0, 0x10, 0, 0, 99},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var m Message
			err := NewReader(bytes.NewReader(data), 9).Read(&m, func(n int) []byte {
				t.Fatalf("asked for a %d-byte buffer", n)
				return nil
			})
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v, want ErrProtocol", err)
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	h := Handshake{Reserved: OurReserved()}
	copy(h.InfoHash[:], "01234567890123456789")
	copy(h.PeerID[:], "-SH0001-abcdefghijkl")
	b := h.Append(nil)
	if len(b) != HandshakeLen {
		t.Fatalf("%d bytes", len(b))
	}
	var got Handshake
	r := bytes.NewReader(b)
	if err := ReadHandshakeStart(r, &got); err != nil {
		t.Fatal(err)
	}
	if err := ReadPeerID(r, &got); err != nil {
		t.Fatal(err)
	}
	if got != h || !got.Reserved.Fast() || !got.Reserved.Extended() || !got.Reserved.DHT() {
		t.Fatalf("%+v", got)
	}
	b[3] = 'x'
	if err := ReadHandshakeStart(bytes.NewReader(b), &got); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad protocol string: %v", err)
	}
}

func TestExtHandshake(t *testing.T) {
	h := ExtHandshake{M: map[string]int{"ut_pex": 1}, V: "shoal 0.1", Reqq: 250, P: 6881}
	got, err := ParseExtHandshake(h.Encode())
	if err != nil || got.Reqq != 250 || got.M["ut_pex"] != 1 || got.V != "shoal 0.1" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"d1:pi-1ee", "d4:reqqi-5ee", "garbage", "d1:md1:xllllllllllllleeeeeeeeeeeeeee"} {
		if _, err := ParseExtHandshake([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzRead(f *testing.F) {
	var seed []byte
	seed = AppendRequest(seed, Request, 1, 0, 16384)
	seed = AppendPieceHeader(seed, 0, 0, 2)
	seed = append(seed, 1, 2)
	seed = AppendPayload(seed, Extended, 1, []byte("d1:ai1ee"))
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 2, byte(Bitfield), 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 9)
		for range 100 {
			var m Message
			err := r.Read(&m, func(n int) []byte {
				if n > MaxBlock {
					t.Fatalf("buffer of %d bytes requested", n)
				}
				return make([]byte, n)
			})
			if err != nil {
				return
			}
			if m.ID == Bitfield && len(m.Payload) != 2 {
				t.Fatalf("bitfield of %d bytes accepted", len(m.Payload))
			}
			if m.ID == Extended {
				ParseExtHandshake(m.Payload)
			}
		}
	})
}

func FuzzHandshake(f *testing.F) {
	h := Handshake{Reserved: OurReserved()}
	f.Add(h.Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Handshake
		r := bytes.NewReader(data)
		if ReadHandshakeStart(r, &got) == nil {
			ReadPeerID(r, &got)
		}
	})
}

func TestMetadataMsg(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 100)
	m, err := ParseMetadataMsg(EncodeMetadataMsg(MetadataMsg{Type: MetadataData, Piece: 2, TotalSize: 32868, Data: data}))
	if err != nil || m.Type != MetadataData || m.Piece != 2 || m.TotalSize != 32868 || !bytes.Equal(m.Data, data) {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"d8:msg_typei9e5:piecei0ee", "d8:msg_typei0e5:piecei-1ee", "d8:msg_typei0e5:piecei0eextra", "garbage"} {
		if _, err := ParseMetadataMsg([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	big := EncodeMetadataMsg(MetadataMsg{Type: MetadataData, Data: make([]byte, MetadataPieceSize+1)})
	if _, err := ParseMetadataMsg(big); err == nil {
		t.Error("oversized metadata piece accepted")
	}
}

func TestPex(t *testing.T) {
	added := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:6881"), netip.MustParseAddrPort("[2001:db8::1]:51413")}
	dropped := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.2:1")}
	p, err := ParsePex(EncodePex(added, []byte{PexSeed, PexReachable}, dropped))
	if err != nil || len(p.Added) != 2 || p.Added[1] != added[1] || p.Flags[0] != PexSeed || p.Dropped[0] != dropped[0] {
		t.Fatalf("%+v %v", p, err)
	}
	// A flood is cut at 50.
	var many []netip.AddrPort
	for i := range 500 {
		many = append(many, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 1))
	}
	w := pexWire{Added: []byte{}}
	for _, a := range many {
		w.Added = appendCompact(w.Added, a)
	}
	b, _ := bencode.Marshal(w)
	if p, err := ParsePex(b); err != nil || len(p.Added) != 50 {
		t.Fatalf("flood: %d peers, %v", len(p.Added), err)
	}
	if _, err := ParsePex([]byte("d5:added5:abcdee")); err == nil {
		t.Error("ragged compact list accepted")
	}
}

func FuzzExtMessages(f *testing.F) {
	f.Add(EncodeMetadataMsg(MetadataMsg{Type: MetadataData, Piece: 1, TotalSize: 5, Data: []byte("hello")}))
	f.Add(EncodePex([]netip.AddrPort{netip.MustParseAddrPort("1.2.3.4:5")}, nil, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseMetadataMsg(b)
		if p, err := ParsePex(b); err == nil && (len(p.Added) > 100 || len(p.Dropped) > 100) {
			t.Fatalf("%d peers accepted", len(p.Added))
		}
	})
}

func TestHashMsgRoundTrip(t *testing.T) {
	req := HashMsg{Root: [32]byte{1, 2}, BaseLayer: 5, Index: 512, Length: 512, ProofLayers: 3}
	hs := req
	hs.Hashes = [][32]byte{{9}, {8}, {7}}
	var b []byte
	b = AppendHashMsg(b, HashRequest, &req)
	b = AppendHashMsg(b, Hashes, &hs)
	b = AppendHashMsg(b, HashReject, &hs) // hashes are not part of a reject
	r := NewReader(bytes.NewReader(b), 9)
	for i, w := range []struct {
		id ID
		h  HashMsg
	}{{HashRequest, req}, {Hashes, hs}, {HashReject, req}} {
		var m Message
		if err := r.Read(&m, blockBuf); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ID != w.id {
			t.Fatalf("message %d is %d, want %d", i, m.ID, w.id)
		}
		got, err := ParseHashMsg(m.ID, m.Payload)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Root != w.h.Root || got.BaseLayer != w.h.BaseLayer || got.Index != w.h.Index || got.Length != w.h.Length ||
			got.ProofLayers != w.h.ProofLayers || len(got.Hashes) != len(w.h.Hashes) {
			t.Fatalf("message %d: %+v, want %+v", i, got, w.h)
		}
		for k := range got.Hashes {
			if got.Hashes[k] != w.h.Hashes[k] {
				t.Fatalf("message %d hash %d differs", i, k)
			}
		}
	}
}

func TestHashMsgRefusals(t *testing.T) {
	hdr := func(id ID, body int) []byte {
		b := []byte{byte((body + 1) >> 24), byte((body + 1) >> 16), byte((body + 1) >> 8), byte(body + 1), byte(id)}
		return append(b, make([]byte, body)...)
	}
	cases := map[string][]byte{
		"short request":     hdr(HashRequest, 47),
		"long reject":       hdr(HashReject, 49),
		"hashes not x32":    hdr(Hashes, 48+31),
		"hashes too short":  hdr(Hashes, 40),
		"oversized hashes":  {0, 0x10, 0, 0, byte(Hashes)},
		"just over the cap": hdr(Hashes, MaxHashesPayload+32),
	}
	for name, b := range cases {
		var m Message
		err := NewReader(bytes.NewReader(b), 9).Read(&m, blockBuf)
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol violation", name, err)
		}
	}
	if _, err := ParseHashMsg(HashRequest, make([]byte, 80)); !errors.Is(err, ErrProtocol) {
		t.Errorf("ParseHashMsg took a request with hashes: %v", err)
	}
}

func TestReservedV2(t *testing.T) {
	if OurReserved().V2() {
		t.Fatal("v2 bit set without a v2 torrent")
	}
	r := OurReserved().WithV2()
	if !r.V2() || r[7]&0x10 == 0 || !r.Fast() || !r.DHT() {
		t.Fatalf("reserved %x", r)
	}
}

func FuzzParseHashMsg(f *testing.F) {
	h := HashMsg{Length: 2, Hashes: [][32]byte{{1}, {2}}}
	f.Add(AppendHashMsg(nil, Hashes, &h))
	f.Add(AppendHashMsg(nil, HashRequest, &h))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 9)
		for range 20 {
			var m Message
			if r.Read(&m, blockBuf) != nil {
				return
			}
			switch m.ID {
			case HashRequest, Hashes, HashReject:
				got, err := ParseHashMsg(m.ID, m.Payload)
				if err != nil {
					t.Fatalf("reader accepted a hash message the parser refuses: %v", err)
				}
				if again := AppendHashMsg(nil, m.ID, &got); !bytes.Equal(again[5:], m.Payload) {
					t.Fatal("hash message does not encode back to itself")
				}
			}
		}
	})
}
