"""Layer 4, reports: what a run and its tables say, for people (HTML report, charts,
the Markdown run summary)."""
