"""Rooms: who is in a meeting, who speaks, and which site each subscriber sees.

Rooms know nothing of RTP: they see sources as things with an owner and a
speech activity number, and slots as things a source can be assigned to.
"""
