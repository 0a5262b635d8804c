"""Text redaction: workprint against Microsoft Presidio on the same generated corpus, in one run.

Presidio runs with its pattern recognizers on a blank spaCy pipeline (no model download), and
its anonymizer replaces what it finds. Printed per kind: recall (share of planted values
gone from the output), then the share of task tokens kept and the time per line.

    .venv/bin/pip install presidio-analyzer presidio-anonymizer   # once
    .venv/bin/python bench/redaction.py [--per-kind 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from workprint.privacy.corpus import TEMPLATES, Line, generate
from workprint.privacy.redact import redact


def presidio_analyzer():
    """Presidio's analyzer with its pattern recognizers on a blank spaCy pipeline (no download)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    class BlankSpacy(SpacyNlpEngine):
        """Presidio's spaCy engine on a blank pipeline: its loader would download a model."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    nlp = BlankSpacy(models=[{"lang_code": "en", "model_name": "blank"}])
    nlp.load()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def presidio_redactor():
    from presidio_anonymizer import AnonymizerEngine

    analyzer = presidio_analyzer()
    anonymizer = AnonymizerEngine()

    def run(text: str) -> str:
        results = analyzer.analyze(text=text, language="en")
        return anonymizer.anonymize(text=text, analyzer_results=results).text
    return run


def score(name: str, fn, lines: list[Line]) -> dict:
    missed, total = Counter(), Counter()
    kept = keep_total = 0
    start = time.perf_counter()
    outputs = [fn(line.text) for line in lines]
    elapsed = time.perf_counter() - start
    for line, out in zip(lines, outputs):
        for kind, value in line.secrets:
            total[kind] += 1
            missed[kind] += value in out
        for token in line.keep:
            keep_total += 1
            kept += token in out
    return {"name": name, "recall": {k: 1 - missed[k] / total[k] for k in total},
            "kept": kept / keep_total, "us_per_line": elapsed / len(lines) * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = generate(args.per_kind, 2 * args.per_kind, args.seed)
    ours = score("workprint", lambda t: redact(t).text, lines)
    theirs = score("presidio", presidio_redactor(), lines)
    print(f"corpus: {len(lines)} lines ({args.per_kind} per kind, {2 * args.per_kind} hard negatives), seed {args.seed}")
    print(f"{'kind':<10} {'workprint':>10} {'presidio':>10}")
    for kind in TEMPLATES:
        print(f"{kind:<10} {ours['recall'][kind]:>10.3f} {theirs['recall'][kind]:>10.3f}")
    print(f"{'kept':<10} {ours['kept']:>10.4f} {theirs['kept']:>10.4f}   (task tokens surviving)")
    print(f"{'µs/line':<10} {ours['us_per_line']:>10.1f} {theirs['us_per_line']:>10.1f}   "
          f"(workprint {theirs['us_per_line'] / ours['us_per_line']:.0f}x faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
