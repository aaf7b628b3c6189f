package picker

// order keeps the wanted pieces of one priority level sorted by
// availability, in buckets: start[a] is the first position holding a piece
// of availability a, and bucket a ends where bucket a+1 starts (or at the
// end). A piece moves to a neighbouring bucket by one swap with that
// bucket's edge, so an availability change costs O(1) however many pieces
// there are. Insertion and removal walk the buckets above the piece, which
// is bounded by the number of connected peers.
type order struct {
	pieces []int32
	start  []int32
}

// bucketEnd is one past the last position of bucket a.
func (o *order) bucketEnd(a int) int32 {
	if a+1 < len(o.start) {
		return o.start[a+1]
	}
	return int32(len(o.pieces))
}

func (o *order) swap(pos []int32, i, j int32) {
	if i == j {
		return
	}
	pi, pj := o.pieces[i], o.pieces[j]
	o.pieces[i], o.pieces[j] = pj, pi
	pos[pi], pos[pj] = j, i
}

// inc moves piece p from bucket a to a+1.
func (o *order) inc(pos []int32, p int32, a int) {
	for len(o.start) <= a+1 {
		o.start = append(o.start, int32(len(o.pieces)))
	}
	last := o.start[a+1] - 1
	o.swap(pos, pos[p], last)
	o.start[a+1]--
}

// dec moves piece p from bucket a to a-1.
func (o *order) dec(pos []int32, p int32, a int) {
	first := o.start[a]
	o.swap(pos, pos[p], first)
	o.start[a]++
}

// insert adds piece p with availability a: appended at the end (the top
// bucket) and swapped down bucket by bucket.
func (o *order) insert(pos []int32, p int32, a int) {
	for len(o.start) <= a {
		o.start = append(o.start, int32(len(o.pieces)))
	}
	o.pieces = append(o.pieces, p)
	pos[p] = int32(len(o.pieces) - 1)
	for b := len(o.start) - 1; b > a; b-- {
		o.swap(pos, pos[p], o.start[b])
		o.start[b]++
	}
}

// remove takes piece p (availability a) out by swapping it up to the end.
func (o *order) remove(pos []int32, p int32, a int) {
	for b := a; b < len(o.start); b++ {
		o.swap(pos, pos[p], o.bucketEnd(b)-1)
		if b+1 < len(o.start) {
			o.start[b+1]--
		}
	}
	o.pieces = o.pieces[:len(o.pieces)-1]
	pos[p] = -1
}
