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

// On Linux the UDP side reads and writes many datagrams per system call,
// on a socket in blocking mode. A worker first takes whatever is queued
// without blocking (MSG_DONTWAIT, as a raw system call, so the runtime
// does not treat it as one that may block); only when nothing is queued
// does it sleep in recvmmsg (unix.Syscall6 releases the P while it
// blocks) until the kernel wakes it. Under load the queue is rarely
// empty, so the P is not handed off and back around every batch, and
// sendmmsg, which never waits (MSG_DONTWAIT), is raw too. Replies go
// back to the very sockaddrs received.
//
// Waiting in the netpoller instead (a non-blocking socket) used a
// quarter less CPU per announce below saturation, but with one P (the
// tracker pinned to one core) it left datagrams unread for hundreds of
// milliseconds while the process was idle, losing a third of them at
// 25k/s offered: measured with trackerbench -open-loop, not understood.

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

// recvmmsg takes what is queued, or when nothing is, sleeps until at
// least one datagram comes.
func recvmmsg(fd int, r *mmsgRing) (int, error) {
	for i := range r.hdrs {
		r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrAny
		r.hdrs[i].Len = 0
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		n, _, e = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_WAITFORONE, 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sendmmsg(fd int, hdrs []unix.Mmsghdr) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
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

// udpFD switches the socket to blocking mode and returns its descriptor,
// which stays valid while s.udp is open.
func udpFD(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd, serr := -1, error(nil)
	if err := rc.Control(func(f uintptr) {
		fd = int(f)
		serr = syscall.SetNonblock(fd, false)
	}); err != nil {
		return 0, err
	}
	return fd, serr
}

// startUDPWorkers runs the receive loops; stopUDP ends them.
func (s *Server) startUDPWorkers() error {
	fd, err := udpFD(s.udp)
	if err != nil {
		return err
	}
	s.udpDone = make(chan struct{})
	var wg sync.WaitGroup
	for range udpWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveUDP(fd)
		}()
	}
	go func() { wg.Wait(); close(s.udpDone) }()
	return nil
}

func (s *Server) serveUDP(fd int) {
	sc := s.newScratch()
	in := newMmsgRing(udpBatch, maxUDPPacket+1)
	outHdrs := make([]unix.Mmsghdr, udpBatch)
	outIovs := make([]unix.Iovec, udpBatch)
	outBufs := make([][]byte, udpBatch)
	for i := range outBufs {
		outBufs[i] = make([]byte, 0, maxUDPPacket)
	}
	for {
		n, err := recvmmsg(fd, in)
		if s.udpStop.Load() {
			return
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			time.Sleep(time.Millisecond) // e.g. ENOMEM: do not spin
			continue
		}
		now := time.Now()
		k := 0
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
		for sent := 0; sent < k; {
			m, err := sendmmsg(fd, outHdrs[sent:k])
			if err != nil || m <= 0 {
				break // UDP: a reply lost is a client's retry
			}
			sent += m
		}
	}
}

// stopUDP wakes workers sleeping in recvmmsg (closing a socket does not)
// until all have returned.
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
