package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap lists every binding once; the help screen is generated from it.
type keyMap struct {
	Up, Down, PageUp, PageDown, Home, End, Enter, Back, NextTab, PrevTab, Filter, Sort, Blocks,
	Pause, Priority, Remove, Add, QueueUp, QueueDown, UpLimit, DownLimit, Help, Quit key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "ctrl+f", " "), key.WithHelp("pgdn", "page down")),
		Home:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		End:       key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back / clear filter")),
		NextTab:   key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab/→", "next tab")),
		PrevTab:   key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("S-tab/←", "previous tab")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter by name")),
		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort list / peers")),
		Blocks:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "pieces: blocks/digits")),
		Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/resume")),
		Priority:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "file priority")),
		Remove:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove (asks first)")),
		Add:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add .torrent or magnet")),
		QueueUp:   key.NewBinding(key.WithKeys("["), key.WithHelp("[", "queue up")),
		QueueDown: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "queue down")),
		UpLimit:   key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "cycle upload limit")),
		DownLimit: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "cycle download limit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// all lists the bindings in the order the help screen shows them.
func (k keyMap) all() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Enter, k.Back, k.NextTab, k.PrevTab,
		k.Filter, k.Sort, k.Blocks, k.Pause, k.Priority, k.Remove, k.Add, k.QueueUp, k.QueueDown, k.UpLimit, k.DownLimit, k.Help, k.Quit}
}

// short is the footer's reminder.
func (k keyMap) short() []key.Binding {
	return []key.Binding{k.Enter, k.NextTab, k.Filter, k.Sort, k.Pause, k.Help, k.Quit}
}
