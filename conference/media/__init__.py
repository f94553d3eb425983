"""Wire-level helpers of the media plane: RTP bytes, codec payload headers,
send history, and the seams where aiortc is patched. Nothing here knows of
rooms, HTTP or storage.

The aiortc glue, the only code that touches aiortc's (and aioice's and
pylibsrtp's) private state, is these modules and no other:

- ``fast_receive``: SRTP/SRTCP decrypted and routed inside aioice's UDP callback;
- ``rtp_header``: the lean RTP header parse (reads aiortc's negotiated extension ids);
- ``bounded_estimators``: aiortc's receive-side estimators bounded, built lazily;
- ``srtp_output``: one large SRTP buffer per thread, a lean protect, a direct send;
- ``fast_send`` (and its C module ``_fastsend``): a forwarded packet's checks,
  protect and ``sendto`` in one compiled call, reading the same private state,
  and a packet's whole fan-out to its slots in one call;
- ``srtp_input``: a lean ``unprotect`` (the fast receive path's);
- ``peer_connect``: aiortc's connect task, quiet when the connection closed under it;
- ``ice_consent``: aioice's consent checks as RFC 7675 has them (late answers
  count, expiry 30 s after the last one), so a thin link is not cut off;
- ``shared_udp``: one UDP socket per local address for every ICE connection,
  drained many datagrams a wake-up, sends batched (``CONFERENCE_MEDIA_PORT``);
- ``forwarding_receiver`` / ``slot_sender``: aiortc's receiver and sender
  classes swapped for ones that forward instead of decoding and encoding;
- ``packetizers``: aiortc's VP8 and H.264 packetisers;
- ``dtls``: DTLS cipher suites and handshake failures.

The private names they use are why ``pyproject.toml`` pins aiortc to 1.16.*
(and aioice to 0.13.*): re-check these modules before moving either on.
"""
