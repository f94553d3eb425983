"""What tests and benchmarks share: a server process, clients, media, synthetic video.

Plain modules, no fixtures (those are in ``tests/conftest.py``), so that
``bench/`` can import them without pytest.
"""
