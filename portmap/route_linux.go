package portmap

import (
	"fmt"
	"io"
	"net/netip"
	"os"
)

// defaultGateway reads the IPv4 default route's gateway from the kernel.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway: %w", err)
	}
	return parseRoutes(b)
}
