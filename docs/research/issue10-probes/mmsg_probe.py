import socket, time, os, cffi
ffi = cffi.FFI()
ffi.cdef("""
struct iovec { void *iov_base; size_t iov_len; };
struct msghdr { void *msg_name; unsigned int msg_namelen; struct iovec *msg_iov; size_t msg_iovlen;
                void *msg_control; size_t msg_controllen; int msg_flags; };
struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
""")
libc = ffi.dlopen(None)
N_SUB = 20
rx = []
for i in range(N_SUB):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22); s.setblocking(False); rx.append(s)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); tx.bind(("127.0.0.1", 0)); tx.setblocking(False)
addrs = [s.getsockname() for s in rx]
payloads = [os.urandom(1200) for _ in range(N_SUB)]
def drain():
    for s in rx:
        try:
            while True: s.recv(2000)
        except BlockingIOError: pass
# pre-built sockaddr_in for each subscriber
import struct
sa = [ffi.new("char[16]", struct.pack("!HH4s8x", socket.AF_INET, p, socket.inet_aton(h))[:0] or struct.pack("=H", socket.AF_INET) + struct.pack("!H", p) + socket.inet_aton(h) + b"\0"*8) for h, p in addrs]
msgs = ffi.new("struct mmsghdr[]", N_SUB)
iovs = ffi.new("struct iovec[]", N_SUB)
for i in range(N_SUB):
    msgs[i].msg_hdr.msg_name = sa[i]; msgs[i].msg_hdr.msg_namelen = 16
    msgs[i].msg_hdr.msg_iov = ffi.addressof(iovs, i); msgs[i].msg_hdr.msg_iovlen = 1
fd = tx.fileno()
R = 3000
def run_sendto():
    t0 = time.process_time()
    for r in range(R):
        for i in range(N_SUB): tx.sendto(payloads[i], addrs[i])
        if r % 50 == 0: drain()
    return (time.process_time() - t0) / (R * N_SUB) * 1e6
def run_mmsg():
    t0 = time.process_time()
    for r in range(R):
        keep = []
        for i in range(N_SUB):
            b = ffi.from_buffer(payloads[i]); keep.append(b)
            iovs[i].iov_base = b; iovs[i].iov_len = len(payloads[i])
        n = libc.sendmmsg(fd, msgs, N_SUB, 0)
        assert n == N_SUB, n
        if r % 50 == 0: drain()
    return (time.process_time() - t0) / (R * N_SUB) * 1e6
for _ in range(3):
    print("sendto  per datagram CPU us: %.2f" % run_sendto()); drain()
    print("sendmmsg per datagram CPU us: %.2f" % run_mmsg()); drain()
