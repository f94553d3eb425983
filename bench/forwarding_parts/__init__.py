"""The pieces of ``bench/forwarding.py``, one noun a module.

``clip`` (the pre-encoded media), ``publisher`` and ``subscribers`` (what the
worker processes run), ``worker_process`` (a worker process and the
orchestrator's handle on it), ``server_under_test``, ``children`` (what to kill
on the way out), ``cpu`` (/proc sampling), ``run_config``, ``run`` (one run and
its repeats), ``sent_frames`` and ``analysis`` (what was sent against what
arrived), ``profiling`` (py-spy), ``machine``, ``summary`` (ratios and targets
over the runs), ``paths`` and ``progress``.
"""
