"""Layer 2, nlp: the spaCy components, their data, and `load()` of the whole pipeline
(Document text -> spaCy Doc with entities, cues, kinds and claims)."""
