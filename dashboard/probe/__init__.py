"""The traffic probe: sends greet requests at a chosen rate and tallies who answered.

``parsing`` reads a greet answer, ``aggregation`` keeps 1 s buckets over the last 5 minutes, ``engine``
runs probes on an event loop and ``metrics`` exports their counts to Prometheus. No Django in here: the
web layer calls it.
"""
