package swarm

import (
	"fmt"
	"strings"
)

// azureusClients maps the two-letter codes of Azureus-style peer IDs
// ("-qB4650-...") to the names people know.
var azureusClients = map[string]string{
	"qB": "qBittorrent", "TR": "Transmission", "lt": "libtorrent (rasterbar)", "LT": "libtorrent (rakshasa)",
	"UT": "µTorrent", "UM": "µTorrent Mac", "DE": "Deluge", "AZ": "Vuze", "BI": "BiglyBT", "AG": "Ares",
	"KT": "KTorrent", "FD": "Free Download Manager", "BT": "BitTorrent", "WW": "WebTorrent", "WD": "WebTorrent Desktop",
	"SH": "shoal", "aria2": "aria2", "GR": "GetRight", "TX": "Tixati", "FW": "FrostWire", "PI": "PicoTorrent",
	"LW": "LimeWire", "XL": "Xunlei", "SD": "Thunder", "BC": "BitComet", "AR": "Arctic", "RT": "rTorrent",
}

// ClientName decodes the client name and version from a peer ID, the way
// other clients show it, or describes the ID when it is unknown.
func ClientName(id [20]byte) string {
	s := string(id[:])
	if len(s) >= 8 && s[0] == '-' && s[7] == '-' {
		code, ver := s[1:3], s[3:7]
		name, ok := azureusClients[code]
		if !ok {
			name = code
		}
		var parts []string
		for _, c := range ver {
			if c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
				parts = append(parts, string(c))
			}
		}
		return strings.TrimSpace(name + " " + strings.Join(parts, "."))
	}
	switch {
	case strings.HasPrefix(s, "A2-"):
		return "aria2 " + strings.ReplaceAll(strings.Trim(s[3:9], "-"), "-", ".")
	case s[0] == 'M' && strings.Count(s[:8], "-") >= 2:
		return "BitTorrent (mainline) " + strings.ReplaceAll(strings.Trim(s[1:8], "-"), "-", ".")
	}
	return fmt.Sprintf("unknown (%x)", id[:8])
}
