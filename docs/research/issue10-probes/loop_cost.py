import asyncio, socket, time, os, sys, multiprocessing
RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
DUR = 3.0
def sender(port, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    p = os.urandom(1100); n = int(rate * DUR); t0 = time.perf_counter()
    for i in range(n):
        target = t0 + i / rate
        while time.perf_counter() < target: pass
        s.sendto(p, ("127.0.0.1", port))
class P(asyncio.DatagramProtocol):
    n = 0
    def datagram_received(self, data, addr): P.n += 1
async def run(mode):
    loop = asyncio.get_running_loop()
    if mode == "protocol":
        tr, _ = await loop.create_datagram_endpoint(P, local_addr=("127.0.0.1", 0))
        sock = tr.get_extra_info("socket")
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.bind(("127.0.0.1", 0)); sock.setblocking(False)
        buf = bytearray(2048)
        def ready():
            while True:
                try: sock.recvfrom(2048)
                except BlockingIOError: return
                P.n += 1
        loop.add_reader(sock.fileno(), ready)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    port = sock.getsockname()[1]
    P.n = 0
    proc = multiprocessing.Process(target=sender, args=(port, RATE)); proc.start()
    await asyncio.sleep(0.3)
    c0 = time.process_time(); n0 = P.n
    await asyncio.sleep(DUR - 0.6)
    c1 = time.process_time(); n1 = P.n
    proc.join()
    print(f"{mode:9s} rate {RATE}/s: {1e6*(c1-c0)/max(n1-n0,1):.1f} us CPU per datagram ({n1-n0} datagrams)")
asyncio.run(run("protocol")); asyncio.run(run("drain"))
