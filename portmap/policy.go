package portmap

import "time"

// permanentRecheck is how often a permanent mapping (lease 0, all some
// UPnP routers grant) is added again: a router that reboots forgets it,
// and Transmission re-checks its mappings on about this period.
const permanentRecheck = 20 * time.Minute

// minRenew keeps a gateway that grants absurdly short leases from being
// asked in a busy loop.
const minRenew = 500 * time.Millisecond

// renewAt is when a mapping granted at now for lease should be renewed:
// at half the lease, as RFC 6886 section 3.3 recommends, so one lost
// renewal still leaves time for another before it lapses. A lease of 0
// means permanent.
func renewAt(now time.Time, lease time.Duration) time.Time {
	if lease <= 0 {
		return now.Add(permanentRecheck)
	}
	return now.Add(max(lease/2, minRenew))
}

// retryAt is when to try again after the failures-th failure in a row
// (counting from 1): the delay doubles from lo up to hi, so a network
// without a gateway is asked rarely, while a router that was rebooting is
// found again soon.
func retryAt(now time.Time, failures int, lo, hi time.Duration) time.Time {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return now.Add(min(d, hi))
}
