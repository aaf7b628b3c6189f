// Package swarm moves torrent data between peers: wire sessions (a reader
// and a writer goroutine per connection), the per-torrent loop that owns
// all of a torrent's state, hash and disk workers, tracker announces, and
// the session that shares one listen port among many torrents. Nothing here
// blocks the loop on a peer, a disk or a tracker: they all send it events.
package swarm
