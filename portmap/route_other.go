//go:build !linux

package portmap

import (
	"errors"
	"net/netip"
)

// defaultGateway is unknown off Linux: NAT-PMP needs NATPMPGateway set.
func defaultGateway() (netip.Addr, error) {
	return netip.Addr{}, errors.New("the default gateway is unknown on this system")
}
