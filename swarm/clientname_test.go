package swarm

import "testing"

func TestClientName(t *testing.T) {
	for id, want := range map[string]string{
		"-LT2080-abcdefghijkl": "libtorrent (rasterbar) 2.0.8",
		"-lt0D80-abcdefghijkl": "libtorrent (rakshasa) 0.13.8",
		"-qB4650-abcdefghijkl": "qBittorrent 4.6.5",
		"-TR300Z-abcdefghijkl": "Transmission 3.00+",
		"-TR2940-abcdefghijkl": "Transmission 2.94",
		"-TR4060-abcdefghijkl": "Transmission 4.0.6",
		"-DE13F0-abcdefghijkl": "Deluge 1.3.15",
		"-SH0100-abcdefghijkl": "shoal 0.1",
		"A2-1-36-0-abcdefghij": "aria2 1.36.0",
		"-GT0003-abcdefghijkl": "anacrolix/torrent 0.0.0.3",
	} {
		var b [20]byte
		copy(b[:], id)
		if got := ClientName(b); got != want {
			t.Errorf("ClientName(%q) = %q, want %q", id, got, want)
		}
	}
}

// The version in our own peer ID is the release's, never digits picked
// out of a commit hash.
func TestVersionDigits(t *testing.T) {
	for v, want := range map[string]string{
		"0.1": "0100", "v1.2.3": "1230", "v1.2.3-4-g77eca8e": "1230", "77eca8e": "0000", "dev": "0000", "v10.2": "A200", "v40.1": "0000",
	} {
		if got := versionDigits(v); got != want {
			t.Errorf("versionDigits(%q) = %q, want %q", v, got, want)
		}
	}
}
