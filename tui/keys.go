package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap lists every binding once; the help overlay is generated from it.
type keyMap struct {
	Up, Down, Enter, Back, NextTab, PrevTab, Sort, Pause, Priority, Remove, UpLimit, DownLimit, Help, Quit key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back to list")),
		NextTab:   key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab/→", "next tab")),
		PrevTab:   key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab/←", "previous tab")),
		Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort peers")),
		Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/resume")),
		Priority:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "file priority")),
		Remove:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "remove torrent (asks first)")),
		UpLimit:   key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "cycle upload limit")),
		DownLimit: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "cycle download limit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Enter, k.NextTab, k.Pause, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Enter, k.Back},
		{k.NextTab, k.PrevTab, k.Sort},
		{k.Pause, k.Priority, k.Remove},
		{k.UpLimit, k.DownLimit, k.Help, k.Quit},
	}
}
