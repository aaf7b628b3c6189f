package swarm

// SetSequential switches a torrent between rarest-first and in-order
// picking (to play media while it downloads); it waits for the loop, so
// for a torrent still checking its data it waits for the check.
func (t *Torrent) SetSequential(on bool) bool {
	return t.do(func() { t.loopState().picker.SetSequential(on) })
}
