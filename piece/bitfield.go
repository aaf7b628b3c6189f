package piece

import (
	"errors"
	"fmt"
	"math/bits"
)

// Bitfield is a fixed-size set of piece indices. It is packed into 64-bit
// words so that counting, intersecting and scanning a 100,000-piece torrent
// costs a few thousand word operations rather than a map walk.
type Bitfield struct {
	words []uint64
	n     int
	count int
}

// ErrBitfieldLength is returned for a wire bitfield whose byte length does
// not match the torrent's piece count; BEP 3 says peers must drop it.
var ErrBitfieldLength = errors.New("bitfield has the wrong length")

// ErrBitfieldSpareBits is returned for a wire bitfield that sets bits past
// the last piece; BEP 3 says peers must drop it.
var ErrBitfieldSpareBits = errors.New("bitfield sets spare bits past the last piece")

// NewBitfield returns an empty set able to hold pieces [0, n).
func NewBitfield(n int) *Bitfield {
	if n < 0 {
		n = 0
	}
	return &Bitfield{words: make([]uint64, (n+63)/64), n: n}
}

// FullBitfield returns a set holding every piece in [0, n), as a have_all
// message or a complete seed implies.
func FullBitfield(n int) *Bitfield {
	b := NewBitfield(n)
	b.SetAll()
	return b
}

// BitfieldFromWire decodes a BEP 3 bitfield message body for a torrent of n
// pieces (high bit of the first byte is piece 0). A body of the wrong length
// or with spare bits set is refused, because accepting it would let a peer
// claim pieces that do not exist.
func BitfieldFromWire(data []byte, n int) (*Bitfield, error) {
	if n < 0 || len(data) != (n+7)/8 {
		return nil, fmt.Errorf("%w: %d bytes for %d pieces", ErrBitfieldLength, len(data), n)
	}
	if n%8 != 0 && len(data) > 0 {
		spare := data[len(data)-1] & (0xff >> uint(n%8))
		if spare != 0 {
			return nil, ErrBitfieldSpareBits
		}
	}
	b := NewBitfield(n)
	for i, c := range data {
		if c == 0 {
			continue
		}
		// Byte i holds pieces 8i..8i+7 with piece 8i in the high bit; word
		// bit k holds piece 64w+k, so reverse the byte into place.
		b.words[i/8] |= uint64(bits.Reverse8(c)) << (8 * uint(i%8))
	}
	b.recount()
	return b, nil
}

// Wire encodes the set as a BEP 3 bitfield message body.
func (b *Bitfield) Wire() []byte {
	out := make([]byte, (b.n+7)/8)
	for i := range out {
		out[i] = bits.Reverse8(byte(b.words[i/8] >> (8 * uint(i%8))))
	}
	return out
}

// Len is the number of pieces the set can hold.
func (b *Bitfield) Len() int { return b.n }

// Count is how many pieces are in the set; it is kept up to date on every
// change so progress reporting never scans.
func (b *Bitfield) Count() int { return b.count }

// Full reports whether every piece is in the set.
func (b *Bitfield) Full() bool { return b.count == b.n }

// Has reports whether piece i is in the set; out-of-range indices are not.
func (b *Bitfield) Has(i int) bool {
	if i < 0 || i >= b.n {
		return false
	}
	return b.words[i>>6]&(1<<uint(i&63)) != 0
}

// Set adds piece i and reports whether it was newly added. Out-of-range
// indices are ignored so that a caller's bug cannot grow the set.
func (b *Bitfield) Set(i int) bool {
	if i < 0 || i >= b.n || b.Has(i) {
		return false
	}
	b.words[i>>6] |= 1 << uint(i&63)
	b.count++
	return true
}

// Clear removes piece i and reports whether it was present.
func (b *Bitfield) Clear(i int) bool {
	if !b.Has(i) {
		return false
	}
	b.words[i>>6] &^= 1 << uint(i&63)
	b.count--
	return true
}

// SetAll adds every piece.
func (b *Bitfield) SetAll() {
	for i := range b.words {
		b.words[i] = ^uint64(0)
	}
	if r := b.n % 64; r != 0 {
		b.words[len(b.words)-1] = (1 << uint(r)) - 1
	}
	b.count = b.n
}

// ClearAll empties the set.
func (b *Bitfield) ClearAll() {
	clear(b.words)
	b.count = 0
}

// Clone returns an independent copy.
func (b *Bitfield) Clone() *Bitfield {
	c := &Bitfield{words: make([]uint64, len(b.words)), n: b.n, count: b.count}
	copy(c.words, b.words)
	return c
}

// Equal reports whether both sets have the same size and members.
func (b *Bitfield) Equal(o *Bitfield) bool {
	if b.n != o.n || b.count != o.count {
		return false
	}
	for i, w := range b.words {
		if o.words[i] != w {
			return false
		}
	}
	return true
}

// Intersects reports whether b and o share any piece. It is how interest is
// decided: a peer is interesting when it has a piece we still want.
func (b *Bitfield) Intersects(o *Bitfield) bool {
	m := min(len(b.words), len(o.words))
	for i := 0; i < m; i++ {
		if b.words[i]&o.words[i] != 0 {
			return true
		}
	}
	return false
}

// CountAnd returns how many pieces are in both sets.
func (b *Bitfield) CountAnd(o *Bitfield) int {
	m := min(len(b.words), len(o.words))
	c := 0
	for i := 0; i < m; i++ {
		c += bits.OnesCount64(b.words[i] & o.words[i])
	}
	return c
}

// NextSet returns the first piece >= i in the set, or -1 when there is none.
func (b *Bitfield) NextSet(i int) int {
	if i < 0 {
		i = 0
	}
	if i >= b.n {
		return -1
	}
	w := i >> 6
	word := b.words[w] &^ ((1 << uint(i&63)) - 1)
	for {
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
		w++
		if w >= len(b.words) {
			return -1
		}
		word = b.words[w]
	}
}

// NextClear returns the first piece >= i not in the set, or -1.
func (b *Bitfield) NextClear(i int) int {
	if i < 0 {
		i = 0
	}
	for ; i < b.n; i++ {
		w := i >> 6
		word := ^b.words[w] &^ ((1 << uint(i&63)) - 1)
		if word != 0 {
			j := w<<6 + bits.TrailingZeros64(word)
			if j < b.n {
				return j
			}
			return -1
		}
		i = w<<6 + 63
	}
	return -1
}

func (b *Bitfield) recount() {
	c := 0
	for _, w := range b.words {
		c += bits.OnesCount64(w)
	}
	b.count = c
}
