"""Claim extraction for health articles: the NLP library (no orchestration in here).

from pipeline import load
nlp = load()
doc = nlp("MDMA stimulates the release of serotonin.")
"""

from pipeline.nlp.loader import load, pipeline_version
from pipeline.version import __version__

__all__ = ["__version__", "load", "pipeline_version"]
