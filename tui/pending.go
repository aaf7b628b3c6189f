package tui

import (
	"strings"

	"github.com/shoal-torrent/shoal/swarm"
)

// pendingPolls is how many snapshots a command's effect is shown before
// the engine's word wins: commands run asynchronously, so the next
// snapshot or two may predate them.
const pendingPolls = 6

// stateResuming is shown after p on a paused torrent until the engine
// says whether it downloads or seeds.
const stateResuming swarm.State = "resuming"

// pending holds the effects of commands the engine has not confirmed yet,
// so a key shows its effect at once and a second press builds on the
// first rather than on a stale snapshot.
type pending struct {
	states map[string]pendingState
	files  map[string]map[int]pendingFile
}

type pendingState struct {
	want swarm.State
	left int
}

type pendingFile struct {
	want string
	left int
}

func newPending() pending {
	return pending{states: map[string]pendingState{}, files: map[string]map[int]pendingFile{}}
}

func (p pending) setState(key string, s swarm.State) pending {
	p.states[key] = pendingState{want: s, left: pendingPolls}
	return p
}

func (p pending) setFile(key string, f int, prio string) pending {
	if p.files[key] == nil {
		p.files[key] = map[int]pendingFile{}
	}
	p.files[key][f] = pendingFile{want: prio, left: pendingPolls}
	return p
}

// state is the torrent's state as the UI shows it.
func (p pending) state(it Item) swarm.State {
	if ps, ok := p.states[itemKey(it)]; ok {
		return ps.want
	}
	return it.Snap.State
}

// filePriority is file f's priority as the UI shows it.
func (p pending) filePriority(it Item, f int) string {
	if pf, ok := p.files[itemKey(it)][f]; ok {
		return pf.want
	}
	if f < len(it.Snap.Files) {
		return it.Snap.Files[f].Priority
	}
	return ""
}

// confirm drops the effects a snapshot shows (or that waited too long).
func (p pending) confirm(items []Item) pending {
	byKey := map[string]*swarm.Snapshot{}
	for _, it := range items {
		if it.Snap != nil {
			byKey[itemKey(it)] = it.Snap
		}
	}
	for k, ps := range p.states {
		s := byKey[k]
		done := s == nil || ps.left <= 1 || s.State == ps.want ||
			(ps.want == stateResuming && s.State != swarm.StatePaused)
		if done {
			delete(p.states, k)
		} else {
			ps.left--
			p.states[k] = ps
		}
	}
	for k, fs := range p.files {
		s := byKey[k]
		for f, pf := range fs {
			if s == nil || pf.left <= 1 || (f < len(s.Files) && strings.EqualFold(s.Files[f].Priority, pf.want)) {
				delete(fs, f)
			} else {
				pf.left--
				fs[f] = pf
			}
		}
		if len(fs) == 0 {
			delete(p.files, k)
		}
	}
	return p
}
