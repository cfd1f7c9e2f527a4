"""Draw the news sentences annotated for claim strength (Yu et al.'s scheme).

Two disjoint draws from FakeHealth stories and press releases, by seeded shuffle of the record
ids, held-out articles (`../shared/heldout-docs.txt`) and every claim-gold article excluded:

- `eval`: 100 sentences from 50 articles (at most 2 each), labelled by two independent
  annotators; never trained on.
- `train`: sentences from other articles (at most 3 each), for the shipped model's weights.

In the first two draws 70% of the sentences name a relation word (a broad, fixed list:
associated, linked, increase, reduce, risk, may, help ...) and 30% are any other prose
sentence, so the rarer strengths are not left to chance while plain statements still appear.
A third draw, `train2` (800 sentences, 80% with a relation word), takes press releases only,
from articles after the first two draws', and a fourth, `train3` (1,200 sentences, 80% with a
relation word), from stories and releases after those. Sentences are the
shipped pipeline's prose sentences of 8 to 50 words.

Writes `models/gold/strength/sample-<draw>.jsonl` (doc, start, end, quote: offsets into the
article text as `pipeline.evaluation.gold.article_text` rebuilds it, never the text) and, for
the annotators only, packets with the sentence text outside the repository (`--packets`).

    python models/scripts/select_strength.py --packets /tmp/strength/packets
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from pipeline.evaluation.gold import FAKEHEALTH, MANIFEST, SHARED_GOLD, manifest
from pipeline.evaluation.strength import GOLD_DIR, quote_for
from pipeline.nlp.loader import load
from pipeline.paths import PROJECT_DIR, corpora_dir

SEED = 21
RELATION = re.compile(
    r"\b(associat\w*|link\w*|correlat\w*|relat\w*|risk\w*|increas\w*|decreas\w*|reduc\w*|"
    r"improv\w*|caus\w*|lead\w*|led|result\w*|prevent\w*|protect\w*|effect\w*|benefi\w*|"
    r"help\w*|lower\w*|rais\w*|boost\w*|trigger\w*|worsen\w*|treat\w*|cut\w*|slash\w*|"
    r"may|might|could|tied|connected|predict\w*)\b",
    re.IGNORECASE,
)

PROJECT = Path(__file__).resolve().parents[2]
# draw -> (sentences, at most per article, share with a relation word, record id prefix)
DRAWS = {
    "eval": (100, 2, 0.7, ""),
    "train": (600, 3, 0.7, ""),
    # more training sentences, from press releases only (the text the target figure is on)
    "train2": (800, 3, 0.8, "news_reviews_"),
    # and 1,200 more from stories and releases after those
    "train3": (1200, 3, 0.8, ""),
}


def _excluded() -> set[str]:
    held = PROJECT_DIR.parent / "shared" / "heldout-docs.txt"
    names = {
        line.strip()
        for line in held.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    names |= {row["doc"] for row in manifest(MANIFEST)}
    names |= {json.loads(line)["doc"] for line in SHARED_GOLD.read_text().splitlines() if line}
    return names


def _records() -> list[tuple[str, str]]:
    found = []
    for relative in FAKEHEALTH:
        with open(corpora_dir() / relative, encoding="utf-8") as handle:
            for line in handle:
                r = json.loads(line)
                found.append((r["news_id"], f"{r['title']}\n{r['text']}"))
    return sorted(found)


def _candidates(nlp, records: list[tuple[str, str]]) -> dict[str, list[tuple[int, int, str]]]:
    """doc -> its prose sentences of 8-50 words as (start, end, text)."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    docs = nlp.pipe((text for _, text in records), batch_size=16)
    for (name, _), doc in zip(records, docs, strict=True):
        kept = []
        for sent in doc.sents:
            if sent._.kind != "prose":
                continue
            words = [t for t in sent if not t.is_punct and not t.is_space]
            if 8 <= len(words) <= 50:
                text = sent.text.strip()
                start = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
                kept.append((start, start + len(text), text))
        out[name] = kept
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=Path, required=True, help="where the texts go")
    args = parser.parse_args(argv)
    excluded = _excluded()
    records = [r for r in _records() if r[0] not in excluded]
    random.Random(SEED).shuffle(records)
    nlp = load()
    GOLD_DIR.mkdir(parents=True, exist_ok=True)
    args.packets.mkdir(parents=True, exist_ok=True)
    position = 0
    for draw, (wanted, per_article, relation_share, prefix) in DRAWS.items():
        relation_wanted = round(wanted * relation_share)
        picked: list[tuple[str, int, int, str]] = []
        n_relation = 0
        rng = random.Random(f"{SEED}-{draw}")
        while len(picked) < wanted:
            window = records[position : position + 40]
            position += 40
            if not window:
                raise SystemExit(f"not enough articles for the {draw} draw")
            chunk = [r for r in window if r[0].startswith(prefix)]
            for name, sentences in _candidates(nlp, chunk).items():
                if len(picked) >= wanted:
                    break
                rng.shuffle(sentences)
                taken = 0
                for start, end, text in sentences:
                    if taken == per_article or len(picked) == wanted:
                        break
                    relation = bool(RELATION.search(text))
                    if relation and n_relation >= relation_wanted:
                        continue
                    if not relation and len(picked) - n_relation >= wanted - relation_wanted:
                        continue
                    picked.append((name, start, end, text))
                    n_relation += relation
                    taken += 1
        rng.shuffle(picked)
        with (
            open(GOLD_DIR / f"sample-{draw}.jsonl", "w", encoding="utf-8") as sample,
            open(args.packets / f"{draw}.jsonl", "w", encoding="utf-8") as packet,
        ):
            for i, (name, start, end, text) in enumerate(picked):
                sid = f"{draw}-{i:03d}"
                row = {"id": sid, "doc": name, "start": start, "end": end}
                sample.write(json.dumps({**row, "quote": quote_for(text)}) + "\n")
                packet.write(json.dumps({"id": sid, "sentence": text}) + "\n")
        print(f"{draw}: {len(picked)} sentences, {n_relation} with a relation word")


if __name__ == "__main__":
    main()
