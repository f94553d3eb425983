"""The pieces of ``bench/anpr.py``, one noun a module.

``clips`` (the synthetic clips and their truth), ``scoring`` (passes against
vehicles), ``alerts`` (the watch list and outbreak province, and the alerts
they raise), ``synthetic`` (reading the clips and the accuracy summary),
``real_images`` (``bench/anpr_images.py`` as a subprocess) and ``realtime``
(CPU per stage in a pinned, single-threaded child).
"""
