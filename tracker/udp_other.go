//go:build !linux

package tracker

import "time"

// Elsewhere the UDP side reads one datagram per call through the
// netpoller; the batched path is Linux's.

func (s *Server) startUDPWorkers() error {
	s.udpDone = make(chan struct{})
	done := make(chan struct{}, udpWorkers())
	for range udpWorkers() {
		go func() {
			defer func() { done <- struct{}{} }()
			sc := s.newScratch()
			in := make([]byte, maxUDPPacket+1)
			out := make([]byte, 0, maxUDPPacket)
			for {
				n, from, err := s.udp.ReadFromUDPAddrPort(in)
				if err != nil {
					return
				}
				if reply := s.handleUDP(sc, out[:0], in[:n], from, time.Now()); len(reply) > 0 {
					s.udp.WriteToUDPAddrPort(reply, from)
				}
			}
		}()
	}
	go func() {
		for range udpWorkers() {
			<-done
		}
		close(s.udpDone)
	}()
	return nil
}

func (s *Server) stopUDP() {
	s.udpStop.Store(true)
	s.udp.Close()
	<-s.udpDone
}
