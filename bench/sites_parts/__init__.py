"""The parts of ``bench/sites.py`` (the site simulator), one noun a module.

``media`` the pre-packetized clip a site sends, ``site`` one simulated site
(signaling, a real ICE/DTLS/SRTP peer, lean send and count), ``worker`` a
process holding many sites, ``target`` the server under test, ``report``
the JSON the run prints.
"""
