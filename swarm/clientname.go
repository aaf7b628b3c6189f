package swarm

import (
	"fmt"
	"strconv"
	"strings"
)

// azureusClients maps the two-letter codes of Azureus-style peer IDs
// ("-qB4650-...") to the names people know.
var azureusClients = map[string]string{
	"qB": "qBittorrent", "TR": "Transmission", "LT": "libtorrent (rasterbar)", "lt": "libtorrent (rakshasa)",
	"UT": "µTorrent", "UM": "µTorrent Mac", "DE": "Deluge", "AZ": "Vuze", "BI": "BiglyBT", "AG": "Ares",
	"KT": "KTorrent", "FD": "Free Download Manager", "BT": "BitTorrent", "WW": "WebTorrent", "WD": "WebTorrent Desktop",
	"SH": "shoal", "aria2": "aria2", "GR": "GetRight", "TX": "Tixati", "FW": "FrostWire", "PI": "PicoTorrent",
	"LW": "LimeWire", "GT": "anacrolix/torrent", "XL": "Xunlei", "SD": "Thunder", "BC": "BitComet", "AR": "Arctic", "RT": "rTorrent",
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
		return strings.TrimSpace(name + " " + azureusVersion(code, ver))
	}
	switch {
	case strings.HasPrefix(s, "A2-"):
		return "aria2 " + strings.ReplaceAll(strings.Trim(s[3:9], "-"), "-", ".")
	case s[0] == 'M' && strings.Count(s[:8], "-") >= 2:
		return "BitTorrent (mainline) " + strings.ReplaceAll(strings.Trim(s[1:8], "-"), "-", ".")
	}
	return fmt.Sprintf("unknown (%x)", id[:8])
}

// azureusVersion reads the four version characters of an Azureus-style
// ID. Most clients write one character per component, letters standing
// for 10 and up (rtorrent's library 0.13.8 is "0D80"); a trailing zero
// component is dropped. Transmission writes major and a two-digit minor
// before 4.0 ("300Z" is 3.00, Z a development build) and three digits
// since ("4060" is 4.0.6).
func azureusVersion(code, ver string) string {
	if code == "TR" {
		dev := ""
		if strings.ContainsAny(ver[3:], "XZ") {
			dev = "+"
		}
		if ver[0] >= '0' && ver[0] <= '3' {
			return ver[0:1] + "." + ver[1:3] + dev
		}
		return trimZeros([]string{ver[0:1], ver[1:2], ver[2:3]}) + dev
	}
	var parts []string
	for _, c := range ver {
		switch {
		case c >= '0' && c <= '9':
			parts = append(parts, string(c))
		case c >= 'A' && c <= 'Z':
			parts = append(parts, fmt.Sprint(c-'A'+10))
		case c >= 'a' && c <= 'z':
			parts = append(parts, fmt.Sprint(c-'a'+36))
		}
	}
	return trimZeros(parts)
}

// trimZeros joins version components, dropping a trailing zero beyond
// major.minor ("2.0.8.0" is 2.0.8, "4.6.5.0" is 4.6.5).
func trimZeros(parts []string) string {
	for len(parts) > 2 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".")
}

// versionDigits turns a release such as "1.2.3" into the four characters
// an Azureus-style peer ID carries ("1230"), with letters for components
// of 10 to 35 as libtorrent writes them. git describe's suffix
// ("v1.2.3-4-gabc1234") is ignored. A version that is no release (a
// commit hash, "dev") is "0000": digits picked out of a hash would show
// other clients a version that never existed.
func versionDigits(version string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	release, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), "-")
	parts := strings.Split(release, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "0000"
	}
	d := []byte("0000")
	for k, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || n >= len(alphabet) {
			return "0000"
		}
		d[k] = alphabet[n]
	}
	return string(d)
}
