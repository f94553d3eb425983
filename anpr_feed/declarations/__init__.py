"""Travel declarations ("khai báo di chuyển"): importing them, and checking passes against them.

:mod:`.imports` reads a CSV or JSON file of declarations (every row checked,
all or nothing); :mod:`.rules` decides whether a pass contradicts what its
driver declared; :mod:`.checker` runs the rules on each stored pass and keeps
the alerts. The records are in :mod:`anpr_feed.events_store.declaration_records`.
"""
