package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
)

// trackerFixture is a tracker view after 60 answers with wandering
// rates, then (gone) 3 failed polls.
func trackerFixture(t *testing.T, w, h int, gone bool) TrackerModel {
	var m tea.Model = NewTracker("http://127.0.0.1:6969/stats", nil, time.Second)
	m, _ = m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	st := TrackerStats{Torrents: 3, Seeders: 12, Leechers: 1200, Uptime: 3 * time.Hour}
	for i := range 3 {
		st.Swarms = append(st.Swarms, TrackerSwarm{InfoHash: strings.Repeat(fmt.Sprintf("%x", 10+i), 40), Seeders: 4 * i, Leechers: 400, Completed: 7 + i})
	}
	for i := range 60 {
		st.AnnouncesPerSecond, st.ScrapesPerSecond = float64((i*7)%13), float64(i%5)/2
		m, _ = m.Update(TrackerMsg{Stats: st, At: goldenAt.Add(time.Duration(i) * time.Second)})
	}
	if gone {
		for i := range 3 {
			m, _ = m.Update(TrackerMsg{Err: errors.New("connection refused: nothing is listening there"), At: goldenAt.Add(time.Duration(60+i*30) * time.Second)})
		}
	}
	return m.(TrackerModel)
}

// TestTrackerGoneSaysSo: when /stats stops answering the view says so,
// since when, and keeps the last figures marked as such, not zeros.
func TestTrackerGoneSaysSo(t *testing.T) {
	v := trackerFixture(t, 80, 24, true).View()
	for _, want := range []string{"the tracker is not answering for 1 minute: connection refused", "from its last answer", "1,200 leechers", "400"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	fitsExactly(t, v, 80, 24)
}

// TestGoldenTracker draws shoal watch --tracker at the three sizes,
// answering and gone: the announce and scrape graphs with their scale,
// infohashes cut to fit.
func TestGoldenTracker(t *testing.T) {
	for _, sz := range goldenSizes {
		for _, gone := range []bool{false, true} {
			name := fmt.Sprintf("%dx%d", sz[0], sz[1])
			if gone {
				name += "-gone"
			}
			t.Run(name, func(t *testing.T) {
				v := trackerFixture(t, sz[0], sz[1], gone).View()
				fitsExactly(t, v, sz[0], sz[1])
				if !strings.Contains(v, "┤") {
					t.Errorf("no rate graphs:\n%s", v)
				}
				golden.RequireEqual(t, []byte(v))
			})
		}
	}
}
