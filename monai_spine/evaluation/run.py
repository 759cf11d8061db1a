"""Evaluate every study of a datalist split with the registered scorers and write ``metrics.csv``,
``summary.json`` and ``evaluation.png`` (``docs/commands/evaluate.md``)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from monai_spine.errors import one_line
from monai_spine.io.files import staged_output

from .figures import save_evaluation_figure
from .scorers import SCORERS, Scorer
from .studies import EvaluationStudy, read_studies

__all__ = ["SCHEMA", "ROW_COLUMNS", "evaluate_datalist", "score_study", "summarise"]

SCHEMA = "monai-spine/evaluation/v1"
ROW_COLUMNS = ("id", "scorer", "item", "status", "error")
"""The first columns of ``metrics.csv``; each scorer's figures follow."""
N_PANELS = 4
"""Studies shown in ``evaluation.png`` for each scorer that draws them: the worst by its ranking."""


def score_study(study: EvaluationStudy, scorer: Scorer) -> list[dict]:
    """The rows of one study for one scorer: one per item, ``status`` ``ok`` with the figures, ``failed`` with
    the error as one line (any exception: one study never stops the others), or ``skipped`` when the entry lacks
    the scorer's files."""
    base = {"id": study.id, "scorer": scorer.name}
    if not study.has(*scorer.requires):
        missing = [key for key in scorer.requires if key not in study.files]
        return [{**base, "item": "", "status": "skipped", "error": f"no {', '.join(missing)} in the entry"}]
    rows = []
    for item in scorer.items(study):
        try:
            rows.append({**base, "item": item, "status": "ok", "error": "", **scorer.score(study, item)})
        except Exception as err:
            rows.append({**base, "item": item, "status": "failed", "error": one_line(f"{type(err).__name__}: {err}")})
    return rows


def summarise(rows: Sequence[dict], scorers: Sequence[Scorer], split: str, n_studies: int) -> dict:
    """``summary.json``: the contract's keys (``schema``, ``split``, ``n_studies``, ``pipelines``) and each
    scorer's summary under its section; ``failed`` lists every failed row (id, scorer, item, error)."""
    failed = [{key: row[key] for key in ("id", "scorer", "item", "error")} for row in rows if row["status"] == "failed"]
    summary = {"schema": SCHEMA, "split": split, "n_studies": n_studies,
               "n_failed_studies": len({row["id"] for row in failed}), "failed": failed, "pipelines": {}}
    for scorer in scorers:
        *parents, leaf = scorer.section
        node = summary
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = scorer.summarise([row for row in rows if row["scorer"] == scorer.name])
    return summary


def _csv_text(rows: Sequence[dict], scorers: Sequence[Scorer]) -> str:
    columns = list(ROW_COLUMNS) + list(dict.fromkeys(f for scorer in scorers for f in scorer.figures))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: round(value, 4) if isinstance(value, float) else value for key, value in row.items()})
    return text.getvalue()


def evaluate_datalist(
    datalist: str | os.PathLike, split: str, out: str | os.PathLike, device: str | None = None, *,
    scorers: Sequence[Scorer] | None = None, progress: bool = True,
) -> dict:
    """Score every study of ``split`` (``"training"``, ``"validation"``, ``"test"`` or ``"all"``) of a datalist.

    Writes ``out/metrics.csv`` (one row per study, scorer and item), ``out/summary.json`` and
    ``out/evaluation.png``, all or nothing. Studies come from ``phantom`` or ``drr`` (``truth.json`` beside their
    images); a study's failure is recorded and the others go on.

    Args:
        datalist: the MONAI datalist (``dataset.json``).
        split: the split to score.
        out: output folder.
        device: torch device of the bundles (``None``: CUDA when available).
        scorers: what to run (default: one of each in :data:`~monai_spine.evaluation.scorers.SCORERS`).
        progress: show a progress bar.

    Returns:
        the summary (``summary.json``'s content).

    Raises:
        SpineInputError: the datalist is missing, not JSON, has no such split or no study (nothing written).
    """
    studies = read_studies(datalist, split)
    scorers = list(scorers) if scorers is not None else [factory(device) for factory in SCORERS.values()]
    rows, panels = [], {scorer.name: [] for scorer in scorers}
    for study in tqdm(studies, desc="evaluate", unit="study", disable=not progress):
        for scorer in scorers:
            found = score_study(study, scorer)
            rows.extend(found)
            drawn = [p for p in (scorer.panel(study, row) for row in found if row["status"] == "ok") if p]
            worst = sorted(panels[scorer.name] + drawn, key=lambda p: p[0])
            panels[scorer.name] = worst[:N_PANELS]  # only the worst few images in memory
    summary = summarise(rows, scorers, split, len(studies))
    summary["datalist"] = os.fspath(Path(datalist).resolve())
    with staged_output(out) as stage:
        (stage / "metrics.csv").write_text(_csv_text(rows, scorers))
        (stage / "summary.json").write_text(json.dumps(summary, indent=1, allow_nan=False) + "\n")
        save_evaluation_figure(stage / "evaluation.png",
                               [(name, [panel for _, panel in drawn]) for name, drawn in panels.items()],
                               f"{Path(datalist).name} ({split}): the worst studies of each scorer")
    return summary
