"""Evals: step-level eval sets from recordings, scored per interaction type (DESIGN.md, "Evals (contract)").

* ``build``: sessions -> ``steps.jsonl`` + redacted frames + dataset card.
* ``run``: asks a model (same client and prompt as ``workprint agent``) or a baseline, resumably.
* ``score``: the contract's rules, every threshold named and printed.
* ``report``: ``results.json``, ``report.html``, and the comparison of two runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from workprint.evals.build import BuildOptions, EvalSetError, build_eval_set, load_steps
from workprint.evals.report import RESULTS_FILE, compare, load_results, write_report
from workprint.evals.run import PREDICTIONS, RunError, RunOptions, run_eval
from workprint.evals.score import PredictionError, Thresholds, format_table, read_predictions, score


def score_and_report(directory: Path, steps: list[dict[str, Any]], predictions: Path, out: Path,
                     thresholds: Thresholds, title: str = "workprint eval") -> dict[str, Any]:
    """Score a predictions file and write RESULTS/{results.json, predictions.jsonl, report.html}."""
    by_id = {s["id"]: s for s in steps}
    predicted = read_predictions(predictions, by_id)
    results, verdicts = score(steps, predicted, thresholds)
    out.mkdir(parents=True, exist_ok=True)
    target = out / PREDICTIONS
    if predictions.resolve() != target.resolve():
        shutil.copyfile(predictions, target)
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=1) + "\n")
    with (out / "verdicts.jsonl").open("w", encoding="utf-8") as f:
        for v in verdicts:
            f.write(json.dumps({"id": v.id, "interaction": v.interaction, "success": v.success,
                                "type_match": v.type_match, "distance": v.distance, "why": v.why}) + "\n")
    write_report(out, directory, steps, results, verdicts, title=title)
    return results


__all__ = ["BuildOptions", "EvalSetError", "PredictionError", "RunError", "RunOptions", "Thresholds", "build_eval_set",
           "compare", "format_table", "load_results", "load_steps", "read_predictions", "run_eval", "score",
           "score_and_report"]
