"""Reading the shared FakeHealth corpus as it is (skipped when the corpora are absent)."""

from __future__ import annotations

from collections import Counter

from pipeline.ingest import Document, iter_documents


def test_fakehealth_loads_as_it_is(corpora):
    items = list(iter_documents(corpora / "fakehealth"))
    documents = [i for i in items if isinstance(i, Document)]
    assert len(items) == 2237  # every record, and no README or PROVENANCE file
    errors = Counter(i.error_type for i in items if not isinstance(i, Document))
    assert set(errors) == {"Empty"}  # some records have no text at all
    assert all(d.record_id and d.source.endswith(f"#{d.record_id}") for d in documents)
    assert sum(d.title is not None for d in documents) > 0.99 * len(documents)
    assert sum(d.url is not None for d in documents) > 0.9 * len(documents)
    assert sum(d.date is not None for d in documents) > 0.5 * len(documents)
