"""Wire-level helpers of the media plane: RTP bytes, codec payload headers,
send history, and the seams where aiortc is patched. Nothing here knows of
rooms, HTTP or storage."""
