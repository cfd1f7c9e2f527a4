"""Check claim-gold files against the guideline's mechanical rules before they are merged.

    python models/scripts/check_gold.py GOLD.jsonl TEXT.txt [GOLD.jsonl TEXT.txt ...]

Per edge: the fields of `../shared/gold-guideline.md` are present with the right types; the
quote has 4-10 words and occurs exactly once in the text; every key stem is in the value
(lowercase); polarity is set for effects only. Prints one line per problem and exits 1 when
any is found, so an annotator can fix the file before handing it in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIELDS = {
    "doc": str,
    "quote": str,
    "substance": list,
    "role": str,
    "value": str,
    "key": str,
    "polarity": (str, type(None)),
    "hedged": bool,
    "negated": bool,
    "optional": bool,
}


def problems(edge: dict, text: str) -> list[str]:
    """The guideline rules `edge` breaks against its article `text` (empty when none)."""
    found = [
        f"{name}: missing or not {kind}"
        for name, kind in FIELDS.items()
        if not isinstance(edge.get(name), kind)
    ]
    if found:
        return found
    words = len(edge["quote"].split())
    if not 4 <= words <= 10:
        found.append(f"quote has {words} words (4-10)")
    count = text.count(edge["quote"])
    if count != 1:
        found.append(f"quote occurs {count} times in the text (must be once)")
    if edge["role"] not in ("target", "effect"):
        found.append(f"role {edge['role']!r}")
    if edge["role"] == "effect" and edge["polarity"] not in ("benefit", "harm", "neutral"):
        found.append(f"effect polarity {edge['polarity']!r}")
    if edge["role"] == "target" and edge["polarity"] is not None:
        found.append("target polarity must be null")
    stems = edge["key"].split()
    if not 1 <= len(stems) <= 2 or edge["key"] != edge["key"].lower():
        found.append(f"key {edge['key']!r}: 1 or 2 lowercase stems")
    missing = [s for s in stems if s not in edge["value"].lower()]
    if missing:
        found.append(f"key stems {missing} not in value {edge['value']!r}")
    if not edge["substance"] or not all(isinstance(s, str) and s for s in edge["substance"]):
        found.append("substance: a non-empty list of names")
    return found


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print(__doc__)
        return 2
    bad = 0
    for gold, text_path in zip(argv[::2], argv[1::2], strict=True):
        text = Path(text_path).read_text(encoding="utf-8")
        for n, line in enumerate(Path(gold).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                edge = json.loads(line)
            except json.JSONDecodeError as error:
                print(f"{gold}:{n}: not JSON ({error})")
                bad += 1
                continue
            for problem in problems(edge, text):
                print(f"{gold}:{n}: {problem}")
                bad += 1
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
