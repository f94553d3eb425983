import time, struct, os, timeit
import conference.media.bounded_estimators  # patches
from aiortc.rtp import RtpPacket, HeaderExtensionsMap
from aiortc.rtcrtpparameters import RTCRtpParameters, RTCRtpHeaderExtensionParameters
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpreceiver import StreamStatistics, NackGenerator
from conference.media.codecs import is_keyframe, parse_vp8_descriptor
from conference.media.ntp import ntp_now, abs_send_time_bytes, arrival_clock_ms
from conference.sfu import MediaPacket
import pylibsrtp

m = HeaderExtensionsMap()
m.configure(RTCRtpParameters(headerExtensions=[
  RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
  RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
  RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
]))
# packet: header + ext (abs-send-time 3 bytes + rid 'h') + vp8 descriptor + payload
ext = bytes([0x32, 1,2,3, 0x40, ord('h'), 0, 0])
vp8 = bytes([0x90, 0xE0, 0x80|0x12, 0x34, 0x05, 0x40]) + os.urandom(1100)
def pkt(seq, ts):
    return struct.pack("!BBHII", 0x90, 96, seq, ts, 0x1234) + struct.pack("!HH", 0xBEDE, 2) + ext + vp8
data = pkt(1, 1000)
N = 20000
def t(label, f, n=N):
    t0 = time.perf_counter()
    for i in range(n): f(i)
    print(f"{label:45s} {1e6*(time.perf_counter()-t0)/n:6.2f} us")

key = os.urandom(30)
pol = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
tx = pylibsrtp.Session(pol)
pol2 = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80)
rx = pylibsrtp.Session(pol2)
prot = [tx.protect(pkt(i & 0xFFFF, 1000 + 3000*(i//8))) for i in range(N)]
t("srtp unprotect (pylibsrtp)", lambda i: rx.unprotect(prot[i]))
plain = [pkt(i & 0xFFFF, 1000 + 3000*(i//8)) for i in range(N)]
t("RtpPacket.parse (3 exts)", lambda i: RtpPacket.parse(plain[i], m))
parsed = [RtpPacket.parse(p, m) for p in plain]
est = RemoteBitrateEstimator()
base = arrival_clock_ms()
t("RemoteBitrateEstimator.add", lambda i: est.add(arrival_time_ms=base + i//3, abs_send_time=(i*50)&0xFFFFFF, payload_size=1100, ssrc=0x1234))
st = StreamStatistics(90000)
t("StreamStatistics.add", lambda i: st.add(parsed[i]))
ng = NackGenerator()
t("NackGenerator.add (bounded)", lambda i: ng.add(parsed[i]))
t("ntp_now+abs_send_time_bytes+monotonic", lambda i: (abs_send_time_bytes(ntp_now()), time.monotonic()))
t("is_keyframe(VP8)", lambda i: is_keyframe("VP8", parsed[i].payload))
t("MediaPacket(...)", lambda i: MediaPacket(1,2,0,b"",False,None,0.0,b"abc",0))
t("arrival_clock_ms", lambda i: arrival_clock_ms())
