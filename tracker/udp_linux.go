//go:build linux

package tracker

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the UDP side reads and writes many datagrams per system call.
// A worker takes whatever is queued with recvmmsg and answers the batch
// with one sendmmsg; only when the queue is empty does it wait, in the
// netpoller. Under load the queue is rarely empty, so that costs nothing;
// below it, a worker parked in the poller costs one wake-up per batch.
// (A worker blocked in the system call instead made the runtime's
// monitor thread wake every 20µs or so to take its P back: as many
// wake-ups as datagrams, which below saturation cost more than the
// datagrams did.) Replies go back to the very sockaddrs received.

// mmsgRing is one worker's receive batch: headers, iovecs, buffers and
// source addresses, all allocated once.
type mmsgRing struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	bufs  [][]byte
	names []unix.RawSockaddrAny
}

func newMmsgRing(n, size int) *mmsgRing {
	r := &mmsgRing{hdrs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n), names: make([]unix.RawSockaddrAny, n)}
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.Iovlen = 1
		r.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	return r
}

func recvmmsg(fd int, r *mmsgRing) (int, error) {
	for i := range r.hdrs {
		r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrAny
		r.hdrs[i].Len = 0
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sendmmsg(fd int, hdrs []unix.Mmsghdr) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sockaddrAddrPort(rsa *unix.RawSockaddrAny) (netip.AddrPort, bool) {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := uint16(sa.Port>>8 | sa.Port<<8) // network order
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port), true
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := uint16(sa.Port>>8 | sa.Port<<8)
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}

// startUDPWorkers runs the receive loops; stopUDP ends them.
func (s *Server) startUDPWorkers() error {
	rc, err := s.udp.SyscallConn()
	if err != nil {
		return err
	}
	s.udpDone = make(chan struct{})
	var wg sync.WaitGroup
	for range udpWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveUDP(rc)
		}()
	}
	go func() { wg.Wait(); close(s.udpDone) }()
	return nil
}

func (s *Server) serveUDP(rc syscall.RawConn) {
	sc := s.newScratch()
	in := newMmsgRing(udpBatch, maxUDPPacket+1)
	outHdrs := make([]unix.Mmsghdr, udpBatch)
	outIovs := make([]unix.Iovec, udpBatch)
	outBufs := make([][]byte, udpBatch)
	for i := range outBufs {
		outBufs[i] = make([]byte, 0, maxUDPPacket)
	}
	// The socket is non-blocking (the net package made it so): Read calls
	// recv again each time the poller says there is something to read.
	// The descriptor is only used inside it, so a concurrent Close cannot
	// hand us a reused one. Both functions are made once: a closure made
	// per batch would escape into the interface call, an allocation.
	var n, k, sent int
	var err error
	recv := func(fd uintptr) bool {
		n, err = recvmmsg(int(fd), in)
		return !errors.Is(err, unix.EAGAIN)
	}
	send := func(fd uintptr) bool {
		for sent < k {
			m, err := sendmmsg(int(fd), outHdrs[sent:k])
			if errors.Is(err, unix.EAGAIN) {
				return false // the send buffer is full: wait for room
			}
			if err != nil || m <= 0 {
				return true // UDP: a reply lost is a client's retry
			}
			sent += m
		}
		return true
	}
	for {
		rerr := rc.Read(recv)
		if s.udpStop.Load() || rerr != nil {
			return
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			time.Sleep(time.Millisecond) // e.g. ENOMEM: do not spin
			continue
		}
		now := time.Now()
		k, sent = 0, 0
		for i := 0; i < n; i++ {
			from, ok := sockaddrAddrPort(&in.names[i])
			if !ok {
				continue
			}
			reply := s.handleUDP(sc, outBufs[k][:0], in.bufs[i][:in.hdrs[i].Len], from, now)
			if len(reply) == 0 {
				continue
			}
			outBufs[k] = reply
			outIovs[k].Base = &reply[0]
			outIovs[k].SetLen(len(reply))
			outHdrs[k].Hdr = unix.Msghdr{Name: in.hdrs[i].Hdr.Name, Namelen: in.hdrs[i].Hdr.Namelen, Iov: &outIovs[k], Iovlen: 1}
			k++
		}
		if k > 0 {
			rc.Write(send)
		}
	}
}

// stopUDP wakes workers waiting for datagrams, with datagrams, until all
// have returned.
func (s *Server) stopUDP() {
	s.udpStop.Store(true)
	to := s.UDPAddr()
	if to.Addr().IsUnspecified() {
		lo := netip.IPv6Loopback()
		if to.Addr().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		to = netip.AddrPortFrom(lo, to.Port())
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err == nil {
		defer c.Close()
	}
	for {
		if c != nil {
			c.Write([]byte{0})
		}
		select {
		case <-s.udpDone:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
