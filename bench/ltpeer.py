#!/usr/bin/python3
"""ltpeer: the bench-peer contract over libtorrent (Debian's python3-libtorrent
2.0.8), so benchmarks run libtorrent beside shoal and anacrolix the same way.

  ltpeer.py -torrent FILE -dir DIR [-seed] [-peers H:P,H:P] [-port N] [-utp]
            [-up-limit BYTES/S] [-down-limit BYTES/S]

A seeder checks the data in DIR, prints "ready PORT" and seeds; a leecher
prints "listening PORT" once its torrent is checked and its peers are
known, downloads from -peers, prints "done" and keeps seeding. On
SIGINT/SIGTERM both print "uploaded BYTES" (payload) and exit.
Loopback only: no DHT, LSD, PEX, UPnP or NAT-PMP, and plain BitTorrent
dialled (encrypted handshakes are still accepted), as the other peers speak.

libtorrent runs with the buffer and queue settings of its own
high_performance_seed() pack (the ones that bound one fast connection;
see FAST below), not its defaults, which are sized for many slow peers.
LTPEER_STOCK=1 in the environment keeps libtorrent's defaults instead.
"""
import argparse
import os
import signal
import sys

import libtorrent as lt


def flag_bool(v):
    """Go's flag package accepts -utp, -utp=true and -utp=false: so do we."""
    if v.lower() in ("1", "t", "true"):
        return True
    if v.lower() in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"want true or false, not {v!r}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-torrent", required=True, help="the .torrent file")
    p.add_argument("-dir", required=True, help="save path")
    p.add_argument("-seed", type=flag_bool, nargs="?", const=True, default=False,
                   help="check the data and seed until SIGINT instead of downloading")
    p.add_argument("-peers", default="", help="comma-separated HOST:PORT of peers to download from")
    p.add_argument("-port", type=int, default=0, help="port to listen on (0 picks one)")
    p.add_argument("-utp", type=flag_bool, nargs="?", const=True, default=False,
                   help="speak uTP only (TCP off)")
    p.add_argument("-up-limit", type=int, default=0, help="upload limit, bytes per second (0: unlimited)")
    p.add_argument("-down-limit", type=int, default=0, help="download limit, bytes per second (0: unlimited)")
    a = p.parse_args()
    if a.up_limit < 0 or a.down_limit < 0:
        p.error("-up-limit and -down-limit cannot be negative")
    return a


# FAST are the settings of lt.high_performance_seed() that bound how fast
# one connection moves data: libtorrent's defaults (a 500 KB send buffer,
# 1 MiB of queued disk writes, 500 requests out) are sized for many slow
# internet peers and throttle a single loopback or LAN peer. The rest of
# that pack (unlimited unchoke slots, thousands of connections, 20 s
# timeouts) is for a seed box with many peers and would change how
# libtorrent behaves in a swarm (distbench), so it is left at the defaults.
FAST = {
    "send_buffer_watermark": 3 * 1024 * 1024,
    "send_buffer_low_watermark": 1024 * 1024,
    "send_buffer_watermark_factor": 150,
    "send_not_sent_low_watermark": 512 * 1024,
    "max_queued_disk_bytes": 7 * 1024 * 1024,
    "max_out_request_queue": 1500,
    "max_peer_recv_buffer_size": 5 * 1024 * 1024,
    "checking_mem_usage": 2048,
}
for _k, _v in FAST.items():
    assert lt.high_performance_seed()[_k] == _v, f"{_k} is not high_performance_seed()'s"


def settings(a):
    cat = lt.alert.category_t
    fast = {} if os.environ.get("LTPEER_STOCK") else FAST
    return fast | {
        "listen_interfaces": f"127.0.0.1:{a.port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Dial plain BitTorrent, accept either: every peer here dials plain.
        "out_enc_policy": int(lt.enc_policy.pe_disabled),
        "in_enc_policy": int(lt.enc_policy.pe_enabled),
        # Every peer of a benchmark shares 127.0.0.1.
        "allow_multiple_connections_per_ip": True,
        "enable_outgoing_tcp": not a.utp,
        "enable_incoming_tcp": not a.utp,
        "enable_outgoing_utp": a.utp,
        "enable_incoming_utp": a.utp,
        "upload_rate_limit": a.up_limit,
        "download_rate_limit": a.down_limit,
        # The caps count BitTorrent's bytes, not TCP/IP headers, as the
        # other peers count them.
        "rate_limit_ip_overhead": False,
        "alert_mask": int(cat.error_notification | cat.status_notification | cat.storage_notification),
    }


stopped = []  # the signal, once one came
checked = []  # set once libtorrent has checked the data it found


def on_signal(signum, frame):
    stopped.append(signum)


def pump(ses, until):
    """Waits for until() while handling alerts; False if a signal came first.
    wait_for_alert returns as soon as libtorrent posts one (a finished
    torrent is one), so until() is seen without polling delay."""
    while not stopped:
        if until():
            return True
        ses.wait_for_alert(200)
        for al in ses.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
                sys.exit(f"ltpeer: {al.message()}")
            if isinstance(al, lt.torrent_checked_alert):
                checked.append(True)
    return False


def main():
    a = parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ses = lt.session(settings(a))
    # libtorrent puts loopback and LAN peers in its "local" peer class,
    # exempt from rate limits and unchoke slots: every peer here is on
    # 127.0.0.1, so put them all in the global class, as internet peers.
    everyone = lt.ip_filter()
    everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    everyone.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(everyone)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(a.torrent)
    atp.save_path = a.dir
    atp.flags = (atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) | \
        lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    if not a.seed:
        # A peer handed to connect_peer() waits for the session's next
        # tick (tick_interval, 500 ms) to be dialled. A torrent that is
        # resumed with peers in its list dials them at once (libtorrent's
        # connect boost, as after a tracker reply), so the leecher is
        # added paused with its peers, checked, and resumed.
        atp.flags |= lt.torrent_flags.paused
        peers = []
        for p in filter(None, a.peers.split(",")):
            host, _, pport = p.rpartition(":")
            peers.append((host.strip("[]"), int(pport)))
        atp.peers = peers  # a copy comes back from atp.peers: assign the list whole
    h = ses.add_torrent(atp)
    port = ses.listen_port()

    def uploaded():
        return h.status().total_payload_upload

    if a.seed:
        if not pump(ses, lambda: checked):
            sys.exit("ltpeer: interrupted before the data was checked")
        if not h.status().is_seeding:
            sys.exit(f"ltpeer: the data in {a.dir} is not complete")
        print(f"ready {port}", flush=True)
    else:
        # Data already in DIR is only hashed once the torrent runs: then
        # it is resumed at once (and dials on the next tick instead).
        if not pump(ses, lambda: checked or h.status().state == lt.torrent_status.checking_files):
            sys.exit("ltpeer: interrupted before the torrent was checked")
        if not checked:
            h.resume()
            if not pump(ses, lambda: checked):
                sys.exit("ltpeer: interrupted before the torrent was checked")
        print(f"listening {port}", flush=True)
        h.resume()
        if not pump(ses, lambda: h.status().is_seeding):
            print(f"uploaded {uploaded()}", flush=True)
            sys.exit("ltpeer: interrupted before the download completed")
        print("done", flush=True)
    pump(ses, lambda: False)
    print(f"uploaded {uploaded()}", flush=True)


if __name__ == "__main__":
    main()
