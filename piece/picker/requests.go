package picker

// Pick chooses up to n blocks to request from peer id and marks them
// requested by it, appending them to dst. Outside end-game every block goes
// to one peer; in end-game a block may go to several (see
// Config.EndgameRequesters), and Received names the others to cancel.
func (p *Picker) Pick(dst []Block, id PeerID, n int) []Block {
	ps := p.peers[id]
	if ps == nil || n <= 0 {
		return dst
	}
	if p.Endgame() {
		return p.pickEndgame(dst, id, ps, n)
	}
	want := len(dst) + n
	dst = p.pickWindows(dst, id, ps, want)
	for level := 0; level < len(p.levels) && len(dst) < want; level++ {
		// Finish what is started before starting more.
		for _, i := range p.partials {
			if len(dst) >= want {
				return dst
			}
			if pp := p.partial[i]; p.pos[i] >= 0 && levelOf(p.prio[i]) == level && ps.offers(i) && p.mayShare(ps, id, pp) {
				dst = p.takeFree(dst, id, i, want)
				if ps.alone() {
					pp.exclusive, pp.owner = true, id
				}
			}
		}
		for len(dst) < want {
			i := p.nextNewPiece(ps, level)
			if i < 0 {
				break
			}
			for {
				dst = p.takeFree(dst, id, i, want)
				if ps.alone() {
					pp := p.partial[i]
					pp.exclusive, pp.owner = true, id
				}
				// A web seed goes on with the pieces after: one ranged
				// request instead of one per piece.
				if i++; !ps.whole || len(dst) >= want || !p.freshAt(ps, i, level) {
					break
				}
			}
		}
	}
	if ps.alone() && len(dst) < want {
		dst = p.restartStranded(dst, id, ps, want)
	}
	return dst
}

// pickWindows takes blocks of the streaming readers' windows first, in
// order of urgency. The piece at a reader's position, once every block of
// it is out, may go to a second peer too (as in end-game), so a reader
// waits for the faster of the two.
func (p *Picker) pickWindows(dst []Block, id PeerID, ps *peerState, want int) []Block {
	for _, w := range p.windows {
		for i := w.First; i < w.End && len(dst) < want; i++ {
			if !p.wanted.Has(i) || p.pos[i] < 0 || !ps.offers(i) {
				continue
			}
			switch pp := p.partial[i]; {
			case pp != nil && pp.free == 0:
				if i == w.First && !pp.exclusive && !ps.alone() {
					dst = p.duplicate(dst, id, i, pp, want)
				}
			case pp == nil || p.mayShare(ps, id, pp):
				dst = p.takeFree(dst, id, i, want)
				if ps.alone() {
					np := p.partial[i]
					np.exclusive, np.owner = true, id
				}
			}
		}
	}
	return dst
}

// duplicate asks peer id too for the blocks of piece i that one other peer
// alone was asked for and that have not come yet.
func (p *Picker) duplicate(dst []Block, id PeerID, i int, pp *partialPiece, want int) []Block {
	for b := range pp.blocks {
		if len(dst) >= want {
			break
		}
		bs := &pp.blocks[b]
		blk := Block{i, b}
		if bs.received || bs.nreq != 1 || p.requestedBy(id, blk, bs) {
			continue
		}
		bs.nreq++
		p.dups[blk] = append(p.dups[blk], id)
		dst = append(dst, blk)
	}
	return dst
}

// freshAt reports piece i as wanted at the level, unstarted and the
// peer's.
func (p *Picker) freshAt(ps *peerState, i, level int) bool {
	return i < p.layout.NumPieces && p.pos[i] >= 0 && levelOf(p.prio[i]) == level && p.partial[i] == nil && ps.offers(i)
}

// restartStranded lets a parole peer with nothing else to take start over
// a piece that others sent part of and nobody can finish: no requests are
// out for it and every peer that has it is on parole (which may not join
// a piece with others' blocks). Without it such a swarm stalls. The
// pieces started over are kept for TakeRestarted.
func (p *Picker) restartStranded(dst []Block, id PeerID, ps *peerState, want int) []Block {
	for k := 0; k < len(p.partials) && len(dst) < want; k++ {
		i := p.partials[k]
		pp := p.partial[i]
		if pp.exclusive || pp.received == 0 || pp.received == len(pp.blocks) || p.pos[i] < 0 || !ps.offers(i) || p.anyRequested(pp) || p.someoneFreeHas(i) {
			continue
		}
		p.PieceFailed(i)
		p.restarted = append(p.restarted, i)
		dst = p.takeFree(dst, id, i, want)
		np := p.partial[i]
		np.exclusive, np.owner = true, id
		k = -1 // partials changed: look again from the start
	}
	return dst
}

func (p *Picker) anyRequested(pp *partialPiece) bool {
	for b := range pp.blocks {
		if pp.blocks[b].nreq > 0 {
			return true
		}
	}
	return false
}

// someoneFreeHas reports a peer off parole that has piece i and so could
// finish it as it is.
func (p *Picker) someoneFreeHas(i int) bool {
	for _, ps := range p.peers {
		if !ps.alone() && ps.offers(i) {
			return true
		}
	}
	return false
}

// TakeRestarted appends the pieces Pick started over since the last call
// (their earlier blocks are void) to dst and forgets them.
func (p *Picker) TakeRestarted(dst []int) []int {
	dst = append(dst, p.restarted...)
	p.restarted = p.restarted[:0]
	return dst
}

// mayShare reports whether peer id may take blocks of a started piece:
// not of another peer's exclusive piece; on parole, only a piece with no
// blocks received yet and no other peer's requests out, which it then
// adopts as its own (a piece others sent blocks of would fail with two
// senders again, and name nobody).
func (p *Picker) mayShare(ps *peerState, id PeerID, pp *partialPiece) bool {
	if pp.exclusive {
		return pp.owner == id
	}
	if !ps.alone() {
		return true
	}
	if pp.received > 0 {
		return false
	}
	for b := range pp.blocks {
		bs := &pp.blocks[b]
		if bs.nreq > 1 || bs.nreq == 1 && bs.first != id {
			return false
		}
	}
	return true
}

// nextNewPiece returns an unstarted wanted piece of the level that the peer
// has, or -1: the rarest, or a random one while we have fewer than
// RandomFirst pieces, or the lowest in sequential mode.
func (p *Picker) nextNewPiece(ps *peerState, level int) int {
	o := &p.levels[level]
	if len(o.pieces) == 0 {
		return -1
	}
	usable := func(i int) bool { return ps.offers(i) && p.partial[i] == nil }
	if p.sequential {
		for i := p.wanted.NextSet(p.seqCursor); i >= 0; i = p.wanted.NextSet(i + 1) {
			if levelOf(p.prio[i]) == level && usable(i) {
				return i
			}
		}
		return -1
	}
	if p.have.Count() < p.cfg.RandomFirst {
		// A few random probes find a piece the peer has in a healthy
		// swarm; otherwise fall through to the full walk.
		for range 32 {
			if i := int(o.pieces[p.rng.IntN(len(o.pieces))]); usable(i) {
				return i
			}
		}
	}
	for _, i32 := range o.pieces {
		if i := int(i32); usable(i) {
			return i
		}
	}
	return -1
}

// takeFree requests free blocks of piece i from peer id until dst holds
// want blocks.
func (p *Picker) takeFree(dst []Block, id PeerID, i, want int) []Block {
	pp := p.partial[i]
	if pp == nil {
		pp = &partialPiece{blocks: make([]blockState, p.layout.NumBlocks(i))}
		pp.free = len(pp.blocks)
		p.partial[i] = pp
		p.partials = append(p.partials, i)
	}
	for b := 0; b < len(pp.blocks) && pp.free > 0 && len(dst) < want; b++ {
		bs := &pp.blocks[b]
		if bs.received || bs.nreq > 0 {
			continue
		}
		bs.nreq, bs.first = 1, id
		pp.free--
		p.unrequested--
		dst = append(dst, Block{i, b})
	}
	return dst
}

func (p *Picker) pickEndgame(dst []Block, id PeerID, ps *peerState, n int) []Block {
	want := len(dst) + n
	// Blocks with fewer requesters first, so every straggling block gets a
	// second source before any gets a third.
	for limit := 1; limit < p.cfg.EndgameRequesters && len(dst) < want; limit++ {
		for _, i := range p.partials {
			pp := p.partial[i]
			if p.pos[i] < 0 || !ps.offers(i) || pp.exclusive || ps.alone() {
				continue
			}
			for b := range pp.blocks {
				if len(dst) >= want {
					return dst
				}
				bs := &pp.blocks[b]
				if bs.received || int(bs.nreq) != limit || p.requestedBy(id, Block{i, b}, bs) {
					continue
				}
				bs.nreq++
				blk := Block{i, b}
				p.dups[blk] = append(p.dups[blk], id)
				dst = append(dst, blk)
			}
		}
	}
	return dst
}

func (p *Picker) requestedBy(id PeerID, blk Block, bs *blockState) bool {
	if bs.nreq == 0 {
		return false
	}
	if bs.first == id {
		return true
	}
	for _, d := range p.dups[blk] {
		if d == id {
			return true
		}
	}
	return false
}

// Outcome is what a received block means for the caller.
type Outcome struct {
	// Useful is false for a block we did not want (duplicate, unknown or
	// already verified piece); the caller drops its data.
	Useful bool
	// PieceComplete means every block of the piece is in; hash it next.
	PieceComplete bool
	// Cancel lists other peers the block was also requested from in
	// end-game: send them a cancel.
	Cancel []PeerID
}

// Received records a block that arrived from peer id.
func (p *Picker) Received(id PeerID, blk Block) Outcome {
	pp := p.partial[blk.Piece]
	if pp == nil || blk.Index < 0 || blk.Index >= len(pp.blocks) || p.pos[blk.Piece] < 0 && !p.wanted.Has(blk.Piece) {
		return Outcome{}
	}
	bs := &pp.blocks[blk.Index]
	if bs.received {
		return Outcome{}
	}
	var out Outcome
	if bs.nreq == 0 {
		// Unsolicited but useful (a request we had already released).
		pp.free--
		p.unrequested--
	} else {
		if bs.first != id {
			out.Cancel = append(out.Cancel, bs.first)
		}
		for _, d := range p.dups[blk] {
			if d != id {
				out.Cancel = append(out.Cancel, d)
			}
		}
		delete(p.dups, blk)
	}
	bs.received, bs.nreq = true, 0
	pp.received++
	out.Useful = true
	out.PieceComplete = pp.received == len(pp.blocks)
	return out
}

// Release returns a block requested from peer id (choked, rejected,
// timed out, cancelled) so it can be picked again.
func (p *Picker) Release(id PeerID, blk Block) {
	if pp := p.partial[blk.Piece]; pp != nil && blk.Index >= 0 && blk.Index < len(pp.blocks) {
		p.release(id, blk, pp)
	}
}

func (p *Picker) release(id PeerID, blk Block, pp *partialPiece) {
	bs := &pp.blocks[blk.Index]
	if bs.received || !p.requestedBy(id, blk, bs) {
		return
	}
	ds := p.dups[blk]
	if bs.first == id {
		if len(ds) > 0 {
			bs.first, ds = ds[0], ds[1:]
		}
	} else {
		for k, d := range ds {
			if d == id {
				ds = append(ds[:k:k], ds[k+1:]...)
				break
			}
		}
	}
	if len(ds) == 0 {
		delete(p.dups, blk)
	} else {
		p.dups[blk] = ds
	}
	bs.nreq--
	if bs.nreq == 0 {
		pp.free++
		if p.wanted.Has(blk.Piece) {
			p.unrequested++
		}
	}
}

// PieceVerified marks piece i as ours after its hash matched.
func (p *Picker) PieceVerified(i int) {
	if !p.have.Set(i) {
		return
	}
	if p.pos[i] >= 0 {
		p.levels[levelOf(p.prio[i])].remove(p.pos, int32(i), int(p.avail[i]))
	}
	if p.wanted.Clear(i) {
		p.unrequested -= p.freeBlocks(i)
	}
	p.dropPartial(i)
	if i == p.seqCursor {
		if next := p.wanted.NextSet(i); next >= 0 {
			p.seqCursor = next
		}
	}
}

// PieceFailed forgets the data of piece i after its hash did not match;
// all its blocks are picked again.
func (p *Picker) PieceFailed(i int) {
	if p.have.Has(i) {
		return
	}
	if p.wanted.Has(i) {
		p.unrequested += p.layout.NumBlocks(i) - p.freeBlocks(i)
	}
	p.dropPartial(i)
}

func (p *Picker) dropPartial(i int) {
	pp := p.partial[i]
	if pp == nil {
		return
	}
	for b := range pp.blocks {
		delete(p.dups, Block{i, b})
	}
	delete(p.partial, i)
	for k, j := range p.partials {
		if j == i {
			p.partials = append(p.partials[:k], p.partials[k+1:]...)
			break
		}
	}
}
