"""Train the joint pipeline (tok2vec, tagger, parser, NER), resuming an interrupted run.

    python models/scripts/train.py [--config models/configs/joint.cfg]
        [--output models/build/train/joint] [--max-steps N] [--fresh] [-- spaCy overrides]

Each run of this script trains one segment into `OUTPUT/segment-N/`: spaCy saves its
`model-last` (and `model-best` when the dev score improves) at every evaluation, and the
config's `claims.progress_logger.v1` writes `progress.json` beside them. Run again after a
kill, a reboot or a time limit, it starts a new segment from the last segment's
`model-last` (every component sourced from a copy of it) for the steps left to
`--max-steps` (default: the config's `training.max_steps`). A segment's step count is the
last step spaCy saved: the last evaluation, or the last step when training ends or is
interrupted (Ctrl-C), so a hard kill loses at most the steps since the last evaluation
(`training.eval_frequency`); a kill in the middle of spaCy's writing `model-last` can leave
it broken (then delete that segment). The optimizer's moments start afresh
on resuming (spaCy does not save them); the learning rate is constant, so nothing else
changes. `OUTPUT/model-last` is the last segment's, `OUTPUT/model-best` the best segment's
best (the dev set and score weights are the same in every segment), and `OUTPUT/progress.json`
sums them up. `--fresh` discards earlier segments.

Exit status: spaCy's, 0 when the run reached its steps.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from contextlib import redirect_stdout
from pathlib import Path

from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train
from spacy.util import load_config

from pipeline.paths import PROJECT_DIR

CONFIG = PROJECT_DIR / "models" / "configs" / "joint.cfg"
CORPUS_PATHS = ("train", "dev", "ner_train", "ner_dev")
OUTPUT = PROJECT_DIR / "models" / "build" / "train" / "joint"


class _Tee:
    """Writes to the console and to the segment's train.log (spaCy's table of dev scores,
    which benchmarks/model_configs.py reads)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _progress(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def resume_config(config: Path, checkpoint: Path, steps_left: int, target: Path) -> Path:
    """A copy of `config` whose components are all sourced from a copy of `checkpoint`
    (`source/` beside `target`), to train `steps_left` more steps. Overrides of
    `components.*` do not apply to a resumed segment (its components are sourced)."""
    source = target.parent / "source"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(checkpoint, source)
    cfg = load_config(config, interpolate=False)
    for name in cfg["nlp"]["pipeline"]:
        cfg["components"][name] = {"source": str(source.resolve())}
    cfg["training"]["max_steps"] = steps_left
    cfg.to_disk(target)
    return target


def segments(output: Path) -> list[Path]:
    """The training segments in `output`, in order (`segment-0`, `segment-1`...)."""
    found = [p for p in output.glob("segment-*") if p.name.split("-")[1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def steps_done(output: Path) -> int:
    """Steps trained and checkpointed over all segments (from their progress.json)."""
    return sum(
        _progress(s / "progress.json").get("step", 0)
        for s in segments(output)
        if (s / "model-last").exists()
    )


def publish(output: Path) -> dict:
    """Copy the last segment's model-last and the best segment's model-best to `output`."""
    done = [s for s in segments(output) if (s / "model-last").exists()]
    if not done:
        return {}
    best = max(
        (s for s in done if (s / "model-best").exists()),
        key=lambda s: _progress(s / "progress.json").get("best_score") or 0.0,
        default=None,
    )
    for name, source in (("model-last", done[-1]), ("model-best", best)):
        if source is None:
            continue
        shutil.rmtree(output / name, ignore_errors=True)
        shutil.copytree(source / name, output / name)
    summary = {
        "steps": steps_done(output),
        "best_segment": best.name if best else None,
        "best_score": _progress(best / "progress.json").get("best_score") if best else None,
        "segments": [{"name": s.name, **_progress(s / "progress.json")} for s in done],
    }
    (output / "progress.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def run(config: Path, output: Path, max_steps: int | None, fresh: bool, overrides: dict) -> int:
    """Train, or resume, into `output`: segment-N/ per run, model-last, model-best."""
    if fresh and output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    base = load_config(config, overrides=overrides, interpolate=True)
    total = max_steps if max_steps is not None else int(base["training"]["max_steps"])
    done = steps_done(output)
    if done >= total:
        print(f"{output}: {done} of {total} steps already trained")
        publish(output)
        return 0
    previous = [s for s in segments(output) if (s / "model-last").exists()]
    segment = output / f"segment-{len(segments(output))}"
    # the config's corpus paths are relative to the repository, wherever this runs from
    raw = load_config(config, interpolate=False)["paths"]
    corpora = {
        f"paths.{key}": str(PROJECT_DIR / value)
        for key, value in raw.items()
        if key in CORPUS_PATHS and isinstance(value, str) and not Path(value).is_absolute()
    }
    settings = {**corpora, **overrides, "paths.progress": str(segment / "progress.json")}
    # the step budget is --max-steps', never an override's (it would break the count)
    settings["training.max_steps"] = total - done
    segment.mkdir(parents=True, exist_ok=True)
    if previous:
        print(f"resuming {output} from {previous[-1].name}: {done} steps done, {total - done} left")
        config = resume_config(
            config, previous[-1] / "model-last", total - done, segment / "resume.cfg"
        )
    else:
        print(f"training {config} into {output}: {total} steps")
    with (segment / "train.log").open("a") as log, redirect_stdout(_Tee(sys.stdout, log)):
        train(config, segment, overrides=settings)
    summary = publish(output)
    print(f"{output}: {summary.get('steps')} steps, best dev score {summary.get('best_score')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="discard earlier checkpoints")
    args, rest = parser.parse_known_args(argv)
    rest = [r for r in rest if r != "--"]
    return run(args.config, args.output, args.max_steps, args.fresh, parse_config_overrides(rest))


if __name__ == "__main__":
    sys.exit(main())
