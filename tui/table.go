package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// column is one column of a table. widths lists the widths it can take,
// widest first; a flex column (the name) has none and takes what the
// others leave, never less than flexMin.
type column struct {
	title string
	// short replaces title once the column is narrower than title.
	short   string
	widths  []int
	right   bool
	flex    bool
	flexMin int
	// flexMax caps a flex column (0: no cap) where more width only adds
	// blank space, as for client names.
	flexMax int
}

// step is one move when a table is too wide for the terminal: column col
// goes to its next narrower width, or is dropped when it has none left.
// A table's steps are the stated order in which it gives up detail.
type step int

// table lays out columns by priority: at full width every column has its
// widest form; as the terminal narrows the steps apply in order until the
// row fits, and the flex column takes whatever is left.
type table struct {
	cols  []column
	steps []step
}

// layout returns each column's width for a terminal total cells wide; 0
// means the column is dropped. One cell of gutter (the selection mark)
// comes first and one space separates columns.
func (t table) layout(total int) []int {
	widths := make([]int, len(t.cols))
	level := make([]int, len(t.cols))
	for i, c := range t.cols {
		if c.flex {
			widths[i] = c.flexMin
		} else {
			widths[i] = c.widths[0]
		}
	}
	used := func() int {
		n := 1 // gutter
		first := true
		for _, w := range widths {
			if w == 0 {
				continue
			}
			if !first {
				n++
			}
			first = false
			n += w
		}
		return n
	}
	for _, s := range t.steps {
		if used() <= total {
			break
		}
		c := t.cols[s]
		level[s]++
		if level[s] < len(c.widths) {
			widths[s] = c.widths[level[s]]
		} else {
			widths[s] = 0
		}
	}
	for i, c := range t.cols {
		if c.flex && widths[i] > 0 {
			widths[i] = max(widths[i]+total-used(), 1)
			if c.flexMax > 0 {
				widths[i] = min(widths[i], c.flexMax)
			}
		}
	}
	return widths
}

// cell is one value in a table. text gives the plain text for a width
// (so a column can show less when narrow); paint colours the fitted text
// unless the row is th.selected, where the whole row is reversed instead.
type cell struct {
	text  func(w int) string
	paint func(s string) string
	// left truncates from the left: the end of a path says more than
	// its start.
	left bool
}

func txt(s string) cell { return cell{text: func(int) string { return s }} }

func (c cell) style(st lipgloss.Style) cell {
	c.paint = func(s string) string { return st.Render(s) }
	return c
}

// fit cuts s to w cells with an ellipsis (never mid-grapheme) and pads
// it; right aligns it to the right.
func fit(s string, w int, right, left bool) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		if left {
			s = ansi.TruncateLeft(s, ansi.StringWidth(s)-w+1, "…")
		} else {
			s = ansi.Truncate(s, w, "…")
		}
	}
	pad := strings.Repeat(" ", max(w-ansi.StringWidth(s), 0))
	if right {
		return pad + s
	}
	return s + pad
}

// header renders the column titles, aligned with the rows below.
func (t table) header(th theme, widths []int) string {
	var parts []string
	for i, c := range t.cols {
		if widths[i] == 0 {
			continue
		}
		ttl := c.title
		if c.short != "" && widths[i] < ansi.StringWidth(ttl) {
			ttl = c.short
		}
		parts = append(parts, fit(ttl, widths[i], c.right, false))
	}
	return th.faint.Render(" " + strings.Join(parts, " "))
}

// row renders one row. A selected row is marked in the gutter and
// reversed across the whole width, so it shows without colour too.
func (t table) row(th theme, widths []int, cells []cell, sel bool) string {
	var parts []string
	for i, c := range t.cols {
		if widths[i] == 0 {
			continue
		}
		s := fit(cells[i].text(widths[i]), widths[i], c.right, cells[i].left)
		if !sel && cells[i].paint != nil {
			s = cells[i].paint(s)
		}
		parts = append(parts, s)
	}
	if sel {
		return th.selected.Render(">" + strings.Join(parts, " "))
	}
	return " " + strings.Join(parts, " ")
}

// shown reports whether column i survived the layout.
func shown(widths []int, i int) bool { return widths[i] > 0 }
