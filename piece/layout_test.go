package piece

import (
	"reflect"
	"testing"
)

func TestLayoutSpans(t *testing.T) {
	f := func(name string, n int64) File { return File{Path: []string{name}, Length: n} }
	tests := []struct {
		name        string
		pieceLen    int64
		files       []File
		off, n      int64
		want        []Span
		wantPieces  int
		lastPieceSz int64
	}{
		{"single file, short last piece", 16, []File{f("a", 40)}, 32, 16,
			[]Span{{0, 32, 8}}, 3, 8},
		{"piece spans two files", 16, []File{f("a", 10), f("b", 30)}, 0, 16,
			[]Span{{0, 0, 10}, {1, 0, 6}}, 3, 8},
		{"zero-length files are skipped", 16, []File{f("a", 10), f("z", 0), f("z2", 0), f("b", 6)}, 8, 8,
			[]Span{{0, 8, 2}, {3, 0, 6}}, 1, 16},
		{"zero-length first file", 16, []File{f("z", 0), f("a", 16)}, 0, 16,
			[]Span{{1, 0, 16}}, 1, 16},
		{"pad file appears as a span", 16, []File{f("a", 10), {Path: []string{".pad", "6"}, Length: 6, Pad: true}, f("b", 16)}, 0, 32,
			[]Span{{0, 0, 10}, {1, 0, 6}, {2, 0, 16}}, 2, 16},
		{"range clipped at the end", 16, []File{f("a", 20)}, 10, 100,
			[]Span{{0, 10, 10}}, 2, 4},
		{"range past the end", 16, []File{f("a", 20)}, 20, 1, nil, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLayout(tt.pieceLen, tt.files)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Spans(nil, tt.off, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("spans %v, want %v", got, tt.want)
			}
			if l.NumPieces != tt.wantPieces || l.PieceSize(l.NumPieces-1) != tt.lastPieceSz {
				t.Errorf("%d pieces, last %d; want %d, %d", l.NumPieces, l.PieceSize(l.NumPieces-1), tt.wantPieces, tt.lastPieceSz)
			}
		})
	}
}

func TestLayoutBlocks(t *testing.T) {
	l, err := NewLayout(64<<10, []File{{Path: []string{"a"}, Length: 64<<10 + BlockSize + 100}})
	if err != nil {
		t.Fatal(err)
	}
	if l.NumBlocks(0) != 4 || l.NumBlocks(1) != 2 {
		t.Fatalf("blocks %d, %d", l.NumBlocks(0), l.NumBlocks(1))
	}
	if b, n := l.BlockSpan(1, 1); b != BlockSize || n != 100 {
		t.Fatalf("last block %d+%d", b, n)
	}
}

// A piece's padding is in none of its blocks: anacrolix hangs up on a
// request that reaches into a v2 file's padding, so shoal never asks.
func TestLayoutBlocksStopAtPadding(t *testing.T) {
	const pl = 64 << 10
	pad := func(n int64) File { return File{Path: []string{".pad", "x"}, Length: n, Pad: true} }
	l, err := NewLayout(pl, []File{
		{Path: []string{"a"}, Length: BlockSize + 100}, pad(pl - BlockSize - 100), // piece 0: 2 blocks, the second 100 bytes
		{Path: []string{"b"}, Length: pl},                                     // piece 1: whole
		{Path: []string{"c"}, Length: 2 * BlockSize}, pad(pl/2 - 10), pad(10), // piece 2: two pads in a row
		pad(pl), // piece 3: all padding keeps its blocks
		{Path: []string{"d"}, Length: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		piece, blocks int
		data          int64
		lastLen       int
	}{{0, 2, BlockSize + 100, 100}, {1, 4, pl, BlockSize}, {2, 2, 2 * BlockSize, BlockSize}, {3, 4, pl, BlockSize}, {4, 1, 5, 5}} {
		if got := l.DataSize(w.piece); got != w.data {
			t.Errorf("piece %d: DataSize %d, want %d", w.piece, got, w.data)
		}
		if got := l.NumBlocks(w.piece); got != w.blocks {
			t.Errorf("piece %d: %d blocks, want %d", w.piece, got, w.blocks)
			continue
		}
		if _, n := l.BlockSpan(w.piece, w.blocks-1); n != w.lastLen {
			t.Errorf("piece %d: last block %d bytes, want %d", w.piece, n, w.lastLen)
		}
	}
}

// DataBytes counts a piece's file bytes wherever its padding lies, and
// adds up to DataTotal, the sum of the files' lengths.
func TestLayoutDataBytes(t *testing.T) {
	pad := func(n int64) File { return File{Path: []string{".pad", "x"}, Length: n, Pad: true} }
	l, err := NewLayout(10, []File{
		{Path: []string{"a"}, Length: 4}, pad(6), // piece 0: 4
		{Path: []string{"b"}, Length: 3}, pad(2), {Path: []string{"e"}}, {Path: []string{"c"}, Length: 7}, // piece 1: 8, pad inside; piece 2: 2
		pad(8), pad(10), // piece 2 padded; piece 3 all padding
		{Path: []string{"d"}, Length: 5}, // piece 4: short, no padding
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{4, 8, 2, 0, 5}
	var sum int64
	for i, w := range want {
		if got := l.DataBytes(i); got != w {
			t.Errorf("piece %d: DataBytes %d, want %d", i, got, w)
		}
		sum += l.DataBytes(i)
	}
	if l.DataTotal != 4+3+7+5 || sum != l.DataTotal || l.Total != 45 {
		t.Errorf("DataTotal %d, pieces sum to %d, Total %d", l.DataTotal, sum, l.Total)
	}
	plain, _ := NewLayout(10, []File{{Path: []string{"p"}, Length: 25}})
	if plain.DataTotal != 25 || plain.DataBytes(2) != 5 || plain.DataBytes(3) != 0 {
		t.Errorf("no padding: DataTotal %d, last piece %d", plain.DataTotal, plain.DataBytes(2))
	}
}

func TestLayoutFilePieces(t *testing.T) {
	l, err := NewLayout(10, []File{
		{Path: []string{"a"}, Length: 15}, {Path: []string{"e"}}, {Path: []string{"b"}, Length: 5}, {Path: []string{"c"}, Length: 11},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 2}, {1, 1}, {1, 2}, {2, 4}}
	for i, w := range want {
		if a, b := l.FilePieces(i); a != w[0] || b != w[1] {
			t.Errorf("file %d pieces [%d,%d), want %v", i, a, b, w)
		}
	}
}

func TestLayoutRefusesNonsense(t *testing.T) {
	if _, err := NewLayout(0, []File{{Path: []string{"a"}, Length: 1}}); err == nil {
		t.Error("zero piece length accepted")
	}
	if _, err := NewLayout(16, nil); err == nil {
		t.Error("no files accepted")
	}
	if _, err := NewLayout(16, []File{{Path: []string{"a"}, Length: -1}}); err == nil {
		t.Error("negative length accepted")
	}
	if _, err := NewLayout(1, []File{{Path: []string{"a"}, Length: 1 << 40}}); err == nil {
		t.Error("absurd piece count accepted")
	}
	if _, err := NewLayout(1<<20, []File{{Path: []string{"a"}, Length: 1 << 62}, {Path: []string{"b"}, Length: 1 << 62}}); err == nil {
		t.Error("overflowing total accepted")
	}
}
