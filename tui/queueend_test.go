package tui

import (
	"strings"
	"testing"
)

// endEngine's torrents are all at the end of the queue already.
type endEngine struct{ *fakeEngine }

func (endEngine) Requeue(int, int) error { return ErrQueueEnd }

// ] on the last torrent and [ on the first say so, not "moved".
func TestRequeueAtAnEndSaysSo(t *testing.T) {
	f, _ := fixture()
	m := New(endEngine{f}, 0)
	m = update(t, m, ItemsMsg(f.Items()), keyMsg("j"), keyMsg("]"))
	if v := m.View(); !strings.Contains(v, "leecher 1 is already last in the queue") || strings.Contains(v, "moved") {
		t.Fatalf("] on the last:\n%s", v)
	}
	m = update(t, m, keyMsg("["))
	if v := m.View(); !strings.Contains(v, "leecher 1 is already first in the queue") {
		t.Fatalf("[ on the first:\n%s", v)
	}
}
