package portmap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// rtfGateway is RTF_GATEWAY: the route goes through a gateway.
const rtfGateway = 0x2

// parseRoutes finds the default route's gateway in the text of
// /proc/net/route: columns Iface Destination Gateway Flags ..., addresses
// in hex, in the host's byte order (little-endian on every Linux shoal
// runs on).
func parseRoutes(b []byte) (netip.Addr, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[1] != "00000000" {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&rtfGateway == 0 {
			continue
		}
		raw, err := hex.DecodeString(f[2])
		if err != nil || len(raw) != 4 {
			continue
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(raw))
		if ip := netip.AddrFrom4(a); !ip.IsUnspecified() {
			return ip, nil
		}
	}
	return netip.Addr{}, errors.New("no IPv4 default gateway")
}
