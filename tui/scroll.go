package tui

import "fmt"

// scroller is a list's cursor and the first row on screen; the window
// follows the cursor so the selected row is always visible.
type scroller struct {
	cursor, offset int
}

// clamp keeps the cursor inside n rows and the window of rows rows
// around it.
func (s scroller) clamp(n, rows int) scroller {
	s.cursor = min(max(s.cursor, 0), max(n-1, 0))
	rows = max(rows, 1)
	if s.cursor < s.offset {
		s.offset = s.cursor
	}
	if s.cursor >= s.offset+rows {
		s.offset = s.cursor - rows + 1
	}
	s.offset = min(max(s.offset, 0), max(n-rows, 0))
	return s
}

// window is the range of rows on screen.
func (s scroller) window(n, rows int) (lo, hi int) {
	return s.offset, min(s.offset+max(rows, 1), n)
}

// position is where the cursor is, as "12/33".
func (s scroller) position(n int) string {
	if n == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d", s.cursor+1, n)
}
