package swarm

// Forget waits for a stopped torrent to be done and drops it from the
// session's routing table. A torrent whose files could not be opened or
// checked stops before it registers its own removal, and must be addable
// again once the problem is fixed (a daemon restarting it, say).
func (s *Session) Forget(t *Torrent) {
	<-t.done
	s.unregister(t)
}
