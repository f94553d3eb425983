"""Nothing a joining site sends may stall the event loop that every meeting shares.

Found by an outside join/leave loop (issue 8, item 1): packets that took
aiortc's slow receive path were stamped in NTP milliseconds, packets on our
fast path in ``time.monotonic()`` milliseconds, and aiortc's rate counter then
walked the ~4·10^12 milliseconds between the two one by one: every room froze
and SIGTERM was ignored. These tests hold the three fixes: one clock on every
path, no estimator that loops over a gap, and a watchdog that notices a stall.
"""

from __future__ import annotations

import asyncio
import logging
import random
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import pytest
from aiortc.rate import RateCounter
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket

from conference.media import bounded_estimators, ntp, rtcp
from conference.watchdog import LoopWatchdog
from tests.support.media import PacketTrack, encode_opus, encode_vp8
from tests.support.peers import SignalingClient
from tests.support.waiting import wait_until

# Each check runs in a child process: before the fix it never returns, and a
# Python loop that never returns cannot be interrupted from inside.
HANG_LIMIT = 120.0


def _run_isolated(code: str) -> str:
    try:
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=HANG_LIMIT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"the code did not return within {HANG_LIMIT:.0f} s (the event loop would hang)"
        )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_forwarding_receiver_stamps_both_receive_paths_with_one_clock():
    """A packet on aiortc's slow path after one on the fast path must not hang the receiver."""
    out = _run_isolated(
        """
        import asyncio, time
        from aiortc import RTCPeerConnection, clock
        from aiortc.rtp import RtpPacket
        from conference.media.forwarding_receiver import make_forwarding_receiver
        from conference.sfu import SfuMetrics, Source

        async def main():
            pc = RTCPeerConnection()
            transceiver = pc.addTransceiver("video", direction="recvonly")
            source = Source(source_id="s:video", owner="s", kind="video", metrics=SfuMetrics())
            receiver = make_forwarding_receiver(transceiver.receiver, source)
            from aiortc.rtcrtpparameters import RTCRtpCodecParameters
            vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
            receiver._codecs[96] = vp8
            def packet(seq):
                p = RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=1234)
                p.extensions.abs_send_time = (seq * 1000) & 0xFFFFFF
                p.payload = bytes([0x10, 0, 0, 0]) + bytes(100)
                return p
            # the fast path, as the socket callback calls it
            receiver.handle_rtp(packet(1), int(time.monotonic() * 1000))
            # then a packet that was queued for aiortc's own task: NTP milliseconds
            await receiver._handle_rtp_packet(packet(2), arrival_time_ms=clock.current_ms())
            receiver.handle_rtp(packet(3), int(time.monotonic() * 1000))
            print("packets", source.packets)
            await pc.close()

        asyncio.run(main())
        """
    )
    assert "packets 3" in out


def test_rate_counter_skips_a_gap_in_one_step():
    """aiortc's rate counter after a jump of 10^12 ms: emptied, not walked."""
    _run_isolated(
        """
        import conference.media.bounded_estimators
        from aiortc.rate import RateCounter
        counter = RateCounter(1000, 8000)
        counter.add(1200, 5_000)
        counter.add(1200, 5_010)
        counter.add(1200, 3_900_000_000_000)  # NTP ms after monotonic ms
        assert counter.rate(3_900_000_000_000) is None or counter._total.count == 1
        counter.add(1200, 10)  # and back again
        print("ok")
        """
    )


def test_rate_counter_answers_as_aiortcs_for_ordinary_arrivals():
    """Within a window's reach, the bounded counter gives aiortc's own answers."""
    rng = random.Random(8)
    ours, theirs = RateCounter(1000, 8000), RateCounter(1000, 8000)
    now = 10_000
    for _ in range(5000):
        now += rng.choice((0, 1, 3, 10, 20, 250, 999, 1000, 1500))
        size = rng.randrange(50, 1300)
        ours.add(size, now)
        _aiortc_add(theirs, size, now)
        assert ours.rate(now) == _aiortc_rate(theirs, now)
        assert (ours._total.count, ours._total.value) == (theirs._total.count, theirs._total.value)


def _aiortc_add(counter: RateCounter, value: int, now_ms: int) -> None:
    if counter._origin_ms is None:
        counter._origin_ms = now_ms
    else:
        bounded_estimators.AIORTC_ERASE_OLD(counter, now_ms)
    index = (counter._origin_index + now_ms - counter._origin_ms) % counter._window_size
    counter._buckets[index].count += 1
    counter._buckets[index].value += value
    counter._total.count += 1
    counter._total.value += value


def _aiortc_rate(counter: RateCounter, now_ms: int) -> int | None:
    if counter._origin_ms is not None:
        bounded_estimators.AIORTC_ERASE_OLD(counter, now_ms)
        active = now_ms - counter._origin_ms + 1
        if counter._total.count > 0 and active > 1:
            return round(counter._scale * counter._total.value / active)
    return None


class _CountingSet(set):
    added = 0

    def add(self, item: object) -> None:
        type(self).added += 1
        super().add(item)


def test_nack_generator_marks_at_most_its_history_on_a_sequence_leap():
    """A publisher leaping 30,000 sequence numbers costs 128 set insertions, not 30,000."""
    generator = NackGenerator()
    generator.missing = _CountingSet()
    _CountingSet.added = 0

    def packet(seq: int) -> RtpPacket:
        return RtpPacket(payload_type=96, sequence_number=seq, ssrc=1)

    generator.add(packet(100))
    assert generator.add(packet(30_100)) is True
    assert _CountingSet.added == RTP_HISTORY_SIZE
    assert max(generator.missing) == 30_099
    assert len(generator.missing) == RTP_HISTORY_SIZE
    # ordinary losses are reported as before
    assert generator.add(packet(30_103)) is True
    assert {30_101, 30_102} <= generator.missing
    generator.add(packet(30_101))
    assert 30_101 not in generator.missing


def test_arrival_clock_is_aiortcs_clock():
    """The fast path's clock is the slow path's clock (NTP milliseconds), cheaper."""
    from aiortc import clock

    ours = ntp.arrival_clock_ms()
    theirs = clock.current_ms()
    assert abs(ours - theirs) < 60_000  # the same clock, read a moment apart


# -- the watchdog ---------------------------------------------------------------------


def _blocking_work(until: threading.Event) -> None:
    """Stands in for code that blocks the loop; released by the watchdog's report."""
    until.wait(60)


async def test_watchdog_logs_the_stack_of_a_stalled_loop(caplog):
    loop = asyncio.get_running_loop()
    noticed = threading.Event()
    reports: list[tuple[float, str]] = []

    def on_stall(waited: float, stack: str) -> None:
        reports.append((waited, stack))
        noticed.set()

    watchdog = LoopWatchdog(loop, stall_seconds=0.3, check_interval=0.05, on_stall=on_stall)
    watchdog.start()
    try:
        await asyncio.sleep(0.2)
        with caplog.at_level(logging.WARNING, logger="conference.watchdog"):
            _blocking_work(noticed)  # the loop is stuck here until the watchdog sees it
            await wait_until(lambda: watchdog.health.stalled_seconds > 0, timeout=30)
    finally:
        watchdog.close()
    assert noticed.is_set(), "the watchdog never noticed the stalled loop"
    assert watchdog.health.stalls == 1
    assert "_blocking_work" in reports[0][1]
    assert any("event loop stalled" in r.message for r in caplog.records)
    assert any("_blocking_work" in r.message for r in caplog.records)


async def test_watchdog_ends_a_process_whose_loop_stays_stuck_after_a_stop():
    loop = asyncio.get_running_loop()
    exited = threading.Event()
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        exited.set()

    watchdog = LoopWatchdog(
        loop, stall_seconds=0.2, check_interval=0.05, exit_after_stop=0.5, exit_process=fake_exit
    )
    watchdog.start()
    try:
        await asyncio.sleep(0.2)
        watchdog.stop_requested()  # SIGTERM arrived
        _blocking_work(exited)  # ... and the loop never came back to handle it
    finally:
        watchdog.close()
    assert codes == [70]


def test_watchdog_stays_quiet_while_the_loop_turns():
    async def main() -> int:
        watchdog = LoopWatchdog(asyncio.get_running_loop(), stall_seconds=5.0, check_interval=0.02)
        watchdog.start()
        for _ in range(50):
            await asyncio.sleep(0.01)
        watchdog.close()
        return watchdog.health.stalls

    assert asyncio.run(main()) == 0


# -- the whole server ---------------------------------------------------------------------


def _slot_of(client: SignalingClient, site: str) -> str | None:
    return next((s for s, v in client.current_slots().items() if v == site), None)


def _metrics(server) -> str:
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=30) as response:
        return response.read().decode()


async def test_join_leave_loop_with_abs_send_time_keeps_the_server_answering(server, room):
    """The outside finding, as it was found: plain aiortc sites joining and leaving.

    aiortc's answers carry abs-send-time, so the server's bitrate estimator
    runs for every video packet. The hang needed a packet still queued for
    aiortc's receive task when the fast path took over: a race that the
    outside run lost within 17 cycles on a loaded machine (2 of 2 runs), and
    that the tests above reproduce deterministically. Here every cycle's video
    reaches the watcher and the server answers HTTP throughout.
    """
    video, audio = encode_vp8(frames=60, gop=15), encode_opus(1.0)
    watcher = SignalingClient(server.base_url, room, server.token(room, "Tỉnh"), thumbnails=2)
    await watcher.connect()
    try:
        for cycle in range(20):
            site = SignalingClient(
                server.base_url,
                room,
                server.token(room, f"Xã {cycle}", site_id=f"xa-{cycle}"),
                publish={"video": PacketTrack(video), "audio": PacketTrack(audio)},
                thumbnails=1,
            )
            await site.connect()
            await site.wait_for(lambda m: m["type"] == "offer", timeout=60)
            # the watcher decodes this site's video: its packets crossed the estimator
            await wait_until(lambda c=cycle: _slot_of(watcher, f"xa-{c}") is not None, timeout=60)
            slot = _slot_of(watcher, f"xa-{cycle}")
            assert slot is not None
            before = len(watcher.captures[slot].frames)
            await wait_until(lambda s=slot, b=before: len(watcher.captures[s].frames) > b + 5, 60)
            await site.close()
            started = time.monotonic()
            body = await asyncio.to_thread(_metrics, server)
            assert "conference_event_loop_stalls_total" in body
            assert time.monotonic() - started < 60, f"server stopped answering at cycle {cycle}"
    finally:
        await watcher.close()
    assert server.process.poll() is None
    assert "Traceback" not in server.log()


# -- the same class elsewhere: work per packet that a sender could make endless ------------


def test_a_nack_flood_gets_at_most_a_history_of_retransmissions():
    """A subscriber NACKing every packet it was sent, again and again, is not an amplifier."""
    from conference.slot import RETRANSMIT_BURST
    from tests.support.slots import make_slot, make_source, video_packets

    slot, output, metrics = make_slot()
    source = make_source(metrics, [])
    slot.assign(source)
    for packet in video_packets(60, first_seq=1000, first_ts=0):
        source.push(packet)
    sent = [p.sequence_number for p in output.rtp]
    assert len(sent) > 50
    before = len(output.rtp)
    for _ in range(50):
        slot.handle_nack(sent * 40)  # every number, forty times over
    resent = len(output.rtp) - before
    assert 0 < resent <= RETRANSMIT_BURST + 50  # the burst, plus what refilled meanwhile
    assert metrics.retransmissions == resent
    assert metrics.retransmissions_refused > 0


def _nack(entries: int) -> bytes:
    """A generic NACK (RFC 4585) with ``entries`` FCI entries, each naming 17 packets."""
    fci = b"".join(((n * 17) & 0xFFFF).to_bytes(2, "big") + b"\xff\xff" for n in range(entries))
    length = (12 + len(fci)) // 4 - 1
    return bytes((0x81, 205)) + length.to_bytes(2, "big") + bytes((0, 0, 0, 1, 0, 0, 0, 2)) + fci


def test_a_compound_with_an_endless_nack_is_not_parsed():
    from aiortc.rtp import RtcpPacket, RtcpRrPacket

    report = bytes(RtcpRrPacket(ssrc=1, reports=[]))
    honest = report + _nack(rtcp.MAX_NACK_ITEMS)
    assert rtcp.rtcp_is_reasonable(honest)
    assert len(RtcpPacket.parse(honest)) == 2
    assert not rtcp.rtcp_is_reasonable(report + _nack(5000))
    assert not rtcp.rtcp_is_reasonable(_nack(rtcp.MAX_NACK_ITEMS + 1) + report)


def test_the_recorder_gives_up_a_frame_that_never_ends():
    """Packets of one timestamp without end: kept to a bound, then dropped."""
    from recorder.frames import MAX_FRAME_PACKETS, VideoFrameAssembler

    assembler = VideoFrameAssembler("VP8")
    keyframe_start = bytes((0x10, 0x00, 0x00, 0x00))  # VP8 descriptor S=1, then a key flag
    assembler.add(1, 9000, 0, keyframe_start + bytes(50))
    assembler.add(40_000 & 0xFFFF, 9000, 1, bytes((0x00,)) + bytes(50))  # an end far away
    for seq in range(2, 6000):
        assembler.add(seq, 9000, 0, bytes((0x00,)) + bytes(50))
        held = sum(len(p.packets) for p in assembler._pending.values())
        assert held <= MAX_FRAME_PACKETS + 1
    assert assembler.dropped_frames >= 1
