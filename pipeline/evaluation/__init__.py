"""Layer 6, evaluation: scoring against claim gold and the hedge corpora."""
