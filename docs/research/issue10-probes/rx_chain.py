import time, struct, os, sys
sys.path.insert(0, "/tmp/research")
import conference.media.bounded_estimators
from aiortc.rtp import RtpPacket, HeaderExtensionsMap
from aiortc.rtcrtpparameters import RTCRtpParameters, RTCRtpHeaderExtensionParameters, RTCRtpCodecParameters
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rate import RemoteBitrateEstimator
from conference.media.forwarding_receiver import ForwardingReceiver
from conference.media.ntp import arrival_clock_ms
from conference.sfu import Source, SfuMetrics
import pylibsrtp

m = HeaderExtensionsMap()
m.configure(RTCRtpParameters(headerExtensions=[
  RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
  RTCRtpHeaderExtensionParameters(id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
]))
ext = bytes([0x32, 1,2,3])
def pkt(seq, ts, abs_):
    return struct.pack("!BBHII", 0x90, 97, seq, ts, 0x1234) + struct.pack("!HH", 0xBEDE, 1) + bytes([0x32]) + abs_.to_bytes(3,"big") + bytes([0x90, 0xE0, 0x80|0x12, 0x34, 0x05, 0x40]) + os.urandom(1100)
key = os.urandom(30)
P = pylibsrtp.Policy
tx = pylibsrtp.Session(P(key=key, ssrc_type=P.SSRC_ANY_OUTBOUND))
rx = pylibsrtp.Session(P(key=key, ssrc_type=P.SSRC_ANY_INBOUND))
N = 30000
prot = [tx.protect(pkt(i & 0xFFFF, 1000 + 3000*(i//8), (i*40) & 0xFFFFFF)) for i in range(N)]

r = object.__new__(ForwardingReceiver)
codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
r.__dict__.update({"_RTCRtpReceiver__codecs": {97: codec}, "_RTCRtpReceiver__rtx_ssrc": {},
  "_RTCRtpReceiver__remote_streams": {}, "_RTCRtpReceiver__remote_bitrate_estimator": RemoteBitrateEstimator(),
  "_RTCRtpReceiver__nack_generator": NackGenerator(), "_RTCRtpReceiver__rtcp_ssrc": None, "_enabled": True})
src = Source(source_id="a:video", owner="a", kind="video", metrics=SfuMetrics())
src.codec = "VP8"
r.attach(src)
router = RtpRouter(); router.register_receiver(r, ssrcs=[0x1234], payload_types=[97])
def one(i):
    arrival = arrival_clock_ms()
    p = RtpPacket.parse(rx.unprotect(prot[i]), m)
    rec = router.route_rtp(p)
    rec.handle_rtp(p, arrival)
t0 = time.perf_counter(); c0 = time.process_time()
for i in range(N): one(i)
print("full receive chain (unprotect..Source.push, no sinks): %.2f us/packet" % (1e6*(time.perf_counter()-t0)/N))
