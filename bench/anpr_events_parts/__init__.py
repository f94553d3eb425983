"""The pieces of ``bench/anpr_events.py``, one noun a module.

``traffic`` (the synthetic plate passes), ``queries`` (the searches timed),
``baselines`` (the naive queries they are compared with) and ``storage`` (what
the engines' data costs, and the Redis clean-up).
"""
