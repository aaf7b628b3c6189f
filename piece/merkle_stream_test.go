package piece_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/shoal-torrent/shoal/piece"
)

func TestPieceHasherV2MatchesHashPiecesV2(t *testing.T) {
	const pl = 2 * piece.BlockSize
	// Three files: one longer than a piece ending mid-piece, one shorter
	// than a piece, one exactly a piece; pads put each on a boundary.
	lens := []int64{pl + piece.BlockSize + 100, 5000, pl}
	var files []piece.File
	for i, n := range lens {
		files = append(files, piece.File{Path: []string{"d", string(rune('a' + i))}, Length: n})
		if r := n % pl; r != 0 && i < len(lens)-1 {
			files = append(files, piece.File{Path: []string{"d", ".pad", string(rune('0' + i))}, Length: pl - r, Pad: true})
		}
	}
	l, err := piece.NewLayout(pl, files)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, l.Total)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, f := range l.Files { // pad files hold zeros
		if f.Pad {
			clear(data[f.Offset : f.Offset+f.Length])
		}
	}
	want, _, err := piece.HashPiecesV2(context.Background(), bytes.NewReader(data), l, piece.HashOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	h := piece.NewPieceHasherV2()
	for i := range l.NumPieces {
		h.Start(l, i)
		p := data[l.PieceOffset(i) : l.PieceOffset(i)+l.PieceSize(i)]
		for len(p) > 0 { // in blocks, as they come off the wire
			n := min(len(p), piece.BlockSize)
			h.Write(p[:n])
			p = p[n:]
		}
		if got := h.Sum(); got != want[i] {
			t.Fatalf("piece %d: %x, want %x", i, got, want[i])
		}
	}
}
