package piece

import (
	"bytes"
	"errors"
	"testing"
)

func TestBitfieldWire(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		n       int
		want    []int
		wantErr error
	}{
		{"empty torrent", []byte{}, 0, nil, nil},
		{"first and last of a byte", []byte{0x81}, 8, []int{0, 7}, nil},
		{"high bit is piece 0", []byte{0x80, 0x00}, 9, []int{0}, nil},
		{"last piece in a spare byte", []byte{0x00, 0x80}, 9, []int{8}, nil},
		{"spans words", bytes.Repeat([]byte{0xff}, 9), 72, seq(0, 72), nil},
		{"too short", []byte{0xff}, 9, nil, ErrBitfieldLength},
		{"too long", []byte{0xff, 0x00}, 8, nil, ErrBitfieldLength},
		{"spare bit set", []byte{0x00, 0x40}, 9, nil, ErrBitfieldSpareBits},
		{"lowest spare bit set", []byte{0x01}, 7, nil, ErrBitfieldSpareBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := BitfieldFromWire(tt.data, tt.n)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var got []int
			for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) {
				got = append(got, i)
			}
			if !equalInts(got, tt.want) {
				t.Fatalf("pieces %v, want %v", got, tt.want)
			}
			if b.Count() != len(tt.want) {
				t.Fatalf("count %d, want %d", b.Count(), len(tt.want))
			}
			if !bytes.Equal(b.Wire(), tt.data) {
				t.Fatalf("wire %x, want %x", b.Wire(), tt.data)
			}
		})
	}
}

func TestBitfieldOps(t *testing.T) {
	b := NewBitfield(130)
	if !b.Set(0) || !b.Set(64) || !b.Set(129) || b.Set(129) || b.Set(130) || b.Set(-1) {
		t.Fatal("Set reported wrongly")
	}
	if b.Count() != 3 || !b.Has(64) || b.Has(63) || b.Has(1000) {
		t.Fatal("membership wrong")
	}
	if b.NextSet(1) != 64 || b.NextSet(65) != 129 || b.NextSet(130) != -1 {
		t.Fatal("NextSet wrong")
	}
	if b.NextClear(0) != 1 || b.NextClear(129) != -1 {
		t.Fatal("NextClear wrong")
	}
	full := FullBitfield(130)
	if !full.Full() || full.Count() != 130 || full.NextClear(0) != -1 {
		t.Fatal("FullBitfield wrong")
	}
	if w := full.Wire(); w[len(w)-1] != 0xC0 {
		t.Fatalf("full bitfield spare bits: %x", w)
	}
	if b.CountAnd(full) != 3 || !b.Intersects(full) {
		t.Fatal("intersection wrong")
	}
	c := b.Clone()
	c.Clear(0)
	if !b.Has(0) || c.Has(0) || b.Equal(c) {
		t.Fatal("Clone shares storage")
	}
	c.ClearAll()
	if c.Count() != 0 || c.Intersects(full) {
		t.Fatal("ClearAll wrong")
	}
}

func FuzzBitfieldFromWire(f *testing.F) {
	f.Add([]byte{0xff, 0x80}, 9)
	f.Add([]byte{}, 0)
	f.Add([]byte{0x01}, 7)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n > 1<<20 {
			return
		}
		b, err := BitfieldFromWire(data, n)
		if err != nil {
			return
		}
		if !bytes.Equal(b.Wire(), data) {
			t.Fatalf("round trip %x -> %x", data, b.Wire())
		}
		count := 0
		for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) {
			if i >= n {
				t.Fatalf("piece %d beyond %d", i, n)
			}
			count++
		}
		if count != b.Count() {
			t.Fatalf("count %d, walked %d", b.Count(), count)
		}
	})
}

func seq(a, b int) []int {
	var s []int
	for i := a; i < b; i++ {
		s = append(s, i)
	}
	return s
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
