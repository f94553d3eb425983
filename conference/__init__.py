"""Multi-site video meetings: an SFU on aiortc that forwards encoded media."""

__version__ = "0.1.0"
