"""Layer 6, review: the reviewer audit app: claims shown in their evidence, verdicts kept in SQLite.

`verdicts` stores the append-only verdict history, `summary` turns verdicts into precision
and agreement figures, `data` reads the run's tables for display, and `app` is the local
web app behind `claims review serve`.
"""
