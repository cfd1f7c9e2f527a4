"""Registered functions that training configs name (`models/configs/joint.cfg`).

Training the one shared tok2vec needs two things spaCy's own `spacy.Corpus.v1` cannot give:

- `claims.joint_corpus.v1`: one reader over corpora that annotate different layers (CRAFT:
  tags and dependencies; UD EWT and GENIA: tags; BC5CDR: entities). Treebank documents are
  read on their gold tokens (the treebank's own tokenization, so the tagger and parser learn
  from words they were annotated on; `gold_preproc` without splitting a document into
  sentences, so the parser still learns sentence boundaries). Entity documents are read
  through the pipeline's tokenizer, as they were written. Each document leaves the other
  layers missing, which spaCy's components skip in their loss and scorers skip in scoring.
- `claims.progress_logger.v1`: spaCy's console logger that also writes `progress.json`
  (step, epoch, dev scores) next to the checkpoints after every evaluation, so an
  interrupted run knows where to resume (`models/scripts/train.py`).

Registered through the `spacy_readers` / `spacy_loggers` entry points (pyproject.toml), so
`spacy train` finds them without `--code`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example


def _docbins(path: str | Path) -> list[Path]:
    """The `.spacy` files of a folder (sorted) or the file itself; an error if none."""
    path = Path(path)
    files = sorted(path.rglob("*.spacy")) if path.is_dir() else [path]
    if not files or not all(f.exists() for f in files):
        raise FileNotFoundError(f"no .spacy files at {path}: run models/scripts/convert.py")
    return files


def joint_corpus(
    syntax: str, ner: str, ner_repeats: int = 1, gold_tokens: bool = True
) -> Callable[[Language], Iterator[Example]]:
    """A reader yielding treebank examples (from `syntax`) then entity examples (from `ner`).

    syntax, ner: a folder of DocBin files or one file (`""` for none).
    ner_repeats: how many times each entity document is yielded per epoch, so the
        recogniser's share of updates does not shrink to the size of its corpus beside
        the treebanks (1.1M words against 0.2M).
    gold_tokens: read treebank documents on their own tokens (else through the tokenizer).
    Raises FileNotFoundError when a path holds no DocBin file.
    """

    def read(nlp: Language) -> Iterator[Example]:
        if syntax:
            for path in _docbins(syntax):
                for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
                    predicted = same_tokens(doc) if gold_tokens else nlp.make_doc(doc.text)
                    yield Example(predicted, doc)
        if ner:
            for path in _docbins(ner):
                docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
                for _ in range(ner_repeats):
                    for doc in docs:
                        yield Example(nlp.make_doc(doc.text), doc)

    return read


def same_tokens(doc: Doc) -> Doc:
    """A new unannotated doc on `doc`'s tokens and spacing (what a model reads on gold
    tokens: training here, and the gold-token figures of models/scripts/evaluate.py)."""
    return Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def progress_logger(
    path: str, progress_bar: bool = False
) -> Callable[[Language, IO, IO], tuple[Callable[[dict | None], None], Callable[[], None]]]:
    """spaCy's console logger plus `path` (JSON): the last evaluated step and its scores.

    Written after spaCy has saved that step's `model-last`, so the two agree, and once more
    when training ends or is interrupted, as spaCy then saves `model-last` at the last step
    (`final: true`; the scores are the last evaluation's). Fields: step, epoch, score (the
    weighted dev score), scores (each dev figure), seconds (since start), best_score and
    best_step (of this run).
    """
    from spacy.training.loggers import console_logger

    console = console_logger(progress_bar=progress_bar)

    def setup(nlp: Language, stdout: IO, stderr: IO):
        log_step, finalize = console(nlp, stdout, stderr)
        start = time.perf_counter()
        best: dict[str, Any] = {"score": None, "step": None}
        last: dict[str, Any] = {"step": -1, "record": None}

        def write(record: dict) -> None:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".tmp")
            partial.write_text(json.dumps(record, indent=2) + "\n")
            partial.replace(target)

        def log(info: dict | None) -> None:
            log_step(info)
            last["step"] += 1  # spaCy calls this once per step, with the scores at evaluations
            if info is None:
                return
            last["step"] = info["step"]
            score = float(info.get("score") or 0.0)
            if best["score"] is None or score > best["score"]:
                best.update(score=score, step=info["step"])
            record = {
                "step": info["step"],
                "epoch": info["epoch"],
                "score": score,
                "scores": {
                    k: v for k, v in info.get("other_scores", {}).items() if isinstance(v, float)
                },
                "seconds": round(time.perf_counter() - start, 1),
                "best_score": best["score"],
                "best_step": best["step"],
            }
            last["record"] = record
            write(record)

        def close() -> None:
            """spaCy saves `model-last` once more at the end (or on Ctrl-C): count to there."""
            finalize()
            if last["record"] is not None and last["step"] > last["record"]["step"]:
                write({**last["record"], "step": last["step"], "final": True})

        return log, close

    return setup
