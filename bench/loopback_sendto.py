"""What one UDP ``sendto`` costs the sender on this machine's loopback.

``bench/forwarding.py`` runs the server and its subscribers on one machine, so
every packet the server forwards crosses the loopback device: the kernel
delivers it to the subscriber's socket and wakes the subscriber's process in
the server's ``sendto`` call, and that time is charged to the server. On a
real network the receiving half happens on the subscriber's machine.

This measures the sender's CPU per ``sendto`` of a 1,200-byte datagram, paced
like the benchmark (about 3,000 packets a second spread over 20 sockets in
two receiving processes that sleep in epoll between packets), against the
same sends to a socket nobody waits on. Prints one JSON object.

    .venv/bin/python bench/loopback_sendto.py [--rate 3000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import select
import socket
import time
from typing import Any


def _receiver(sockets: int, ports: Any, stop: Any) -> None:
    socks = []
    poller = select.epoll()
    for _ in range(sockets):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        poller.register(sock.fileno(), select.EPOLLIN)
        socks.append(sock)
        ports.put(sock.getsockname()[1])
    by_fd = {s.fileno(): s for s in socks}
    while not stop.is_set():
        for fd, _ in poller.poll(0.5):
            try:
                while True:
                    by_fd[fd].recv(2048)
            except BlockingIOError:
                pass


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _send(addresses: list[tuple[str, int]], rate: float, seconds: float) -> dict[str, float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    payload = os.urandom(1200)
    interval = 1.0 / rate
    sent = 0
    in_sendto = 0.0
    cpu_before = _cpu()
    start = time.perf_counter()
    next_at = start
    while time.perf_counter() - start < seconds:
        # Bursts of one packet per subscriber, like a forwarded frame.
        for address in addresses:
            before = time.perf_counter()
            try:
                sock.sendto(payload, address)
            except BlockingIOError:
                pass
            in_sendto += time.perf_counter() - before
            sent += 1
        next_at += interval * len(addresses)
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    cpu = _cpu() - cpu_before
    return {
        "packets": sent,
        "wall_us_in_sendto_per_packet": round(in_sendto / sent * 1e6, 2),
        "sender_cpu_us_per_packet": round(cpu / sent * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=3000.0, help="packets per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=20, help="receiving sockets")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    stop = context.Event()
    half = args.sockets // 2
    workers = [
        context.Process(target=_receiver, args=(count, ports, stop), daemon=True)
        for count in (half, args.sockets - half)
    ]
    for worker in workers:
        worker.start()
    try:
        addresses = [("127.0.0.1", ports.get(timeout=30)) for _ in range(args.sockets)]
        to_sleepers = _send(addresses, args.rate, args.seconds)
    finally:
        stop.set()
        for worker in workers:
            worker.join(3)
            if worker.is_alive():
                worker.kill()

    # The same sends to one bound socket that nobody reads: no wake-up, and the
    # datagrams are dropped once its buffer is full.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    to_nobody = _send([sink.getsockname()] * args.sockets, args.rate, args.seconds)
    sink.close()
    print(
        json.dumps(
            {
                "datagram_bytes": 1200,
                "rate_per_second": args.rate,
                "to_sleeping_receivers": to_sleepers,
                "to_socket_nobody_waits_on": to_nobody,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
