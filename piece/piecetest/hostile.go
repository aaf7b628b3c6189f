package piecetest

import "fmt"

// ManyPiecesTorrent returns a well-formed single-file .torrent declaring
// pieces pieces of 16 KiB, with hashes that match nothing. It is what an
// attacker sends to make a client allocate per-piece state for millions
// of pieces, and is built at test time because it is tens of MiB.
func ManyPiecesTorrent(pieces int) []byte {
	const pieceLength = 16 << 10
	head := fmt.Sprintf("d4:infod6:lengthi%de4:name4:huge12:piece lengthi%de6:pieces%d:", int64(pieces)*pieceLength, pieceLength, pieces*20)
	b := make([]byte, len(head)+pieces*20+2) // the hashes stay zero
	copy(b, head)
	copy(b[len(b)-2:], "ee")
	return b
}
