"""Text redaction: workprint against Microsoft Presidio on the same corpora, in one run.

Presidio runs with its pattern recognizers on a blank spaCy pipeline (no model download), and
its anonymizer replaces what it finds. Two corpora:

- ``faker`` (default): ``workprint.privacy.fakercorpus``, values from Faker across ~60 locales,
  in two splits from different seeds: ``tune`` (looked at while tuning) and ``holdout`` (never
  tuned on, only reported);
- ``own``: ``workprint.privacy.corpus``, written by the same hands as the patterns.

Printed per kind: recall (share of planted values gone from the output; for names, a name
counts as caught only when none of its words is left), the share of task tokens and hard
negatives kept, CPU time per line (best of two passes), and workprint's speed as a multiple
of Presidio's.

    .venv/bin/pip install -e '.[bench]'   # once
    .venv/bin/python bench/redaction.py [--corpus faker] [--split tune holdout] [--per-kind 200]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from workprint.privacy.fakercorpus import HARD_NEGATIVES
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


def leaked(kind: str, value: str, out: str) -> bool:
    """Whether ``value`` survived in ``out``; a name leaks when any word that identifies it does."""
    if kind == "name":
        from workprint.privacy.fakercorpus import name_parts

        return any(part in out for part in name_parts(value)) or value in out
    return value in out


def score(name: str, fn, lines, repeats: int = 2) -> dict:
    missed, total = Counter(), Counter()
    kept = keep_total = 0
    groups: Counter = Counter()  # (group, kept?) for task tokens and hard negatives apart
    misses: list[tuple[str, str, str]] = []
    lost: list[tuple[str, str]] = []
    # CPU time of this process, best of `repeats` passes: on a shared machine wall time swings
    # with the other processes' load; both redactors run single-threaded in this process.
    elapsed = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        outputs = [fn(line.text) for line in lines]
        elapsed = min(elapsed, time.process_time() - start)
    for line, out in zip(lines, outputs):
        for kind, value in line.secrets:
            total[kind] += 1
            if leaked(kind, value, out):
                missed[kind] += 1
                misses.append((kind, value, out))
        kinds = getattr(line, "keep_kinds", None) or [""] * len(line.keep)
        for token, kind in zip(line.keep, kinds):
            keep_total += 1
            group = "hard negatives" if kind in HARD_NEGATIVES else "task tokens"
            groups[group, token in out] += 1
            if token in out:
                kept += 1
            else:
                lost.append((token, out))
    return {"name": name, "recall": {k: 1 - missed[k] / total[k] for k in total}, "total": total,
            "missed": missed, "kept": kept / keep_total, "us_per_line": elapsed / len(lines) * 1e6,
            "misses": misses, "lost": lost, "groups": groups}


def report(title: str, kinds: list[str], pattern_kinds: list[str], ours: dict, theirs: dict | None) -> None:
    print(f"\n## {title}")
    print(f"{'kind':<14} {'n':>5} {'workprint':>10} {'presidio':>10}")
    for kind in kinds:
        t = f"{theirs['recall'][kind]:>10.3f}" if theirs else ""
        print(f"{kind:<14} {ours['total'][kind]:>5} {ours['recall'][kind]:>10.3f} {t}")

    def pooled(result, ks):
        n = sum(result["total"][k] for k in ks)
        return 1 - sum(result["missed"][k] for k in ks) / n
    t = f"{pooled(theirs, pattern_kinds):>10.3f}" if theirs else ""
    print(f"{'pattern kinds':<14} {'':>5} {pooled(ours, pattern_kinds):>10.3f} {t}   ({', '.join(pattern_kinds)})")
    t = f"{theirs['kept']:>10.4f}" if theirs else ""
    print(f"{'kept':<14} {'':>5} {ours['kept']:>10.4f} {t}   (task tokens and hard negatives surviving)")
    for group in ("task tokens", "hard negatives"):
        def share(result):
            n = result["groups"][group, True] + result["groups"][group, False]
            return result["groups"][group, True] / n if n else float("nan")
        n = ours["groups"][group, True] + ours["groups"][group, False]
        t = f"{share(theirs):>10.4f}" if theirs else ""
        print(f"{' ' + group:<14} {n:>5} {share(ours):>10.4f} {t}")
    if theirs:
        print(f"{'CPU µs/line':<14} {'':>5} {ours['us_per_line']:>10.1f} {theirs['us_per_line']:>10.1f}   "
              f"(workprint {theirs['us_per_line'] / ours['us_per_line']:.1f}x Presidio's speed)")
    else:
        print(f"{'CPU µs/line':<14} {'':>5} {ours['us_per_line']:>10.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["faker", "own"], default="faker")
    parser.add_argument("--split", nargs="+", choices=["tune", "holdout"], default=["tune", "holdout"])
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="seed of the own corpus")
    parser.add_argument("--no-presidio", action="store_true", help="workprint only (quick tuning)")
    parser.add_argument("--show-misses", type=int, default=0, help="print this many misses and lost tokens")
    args = parser.parse_args()
    theirs_fn = None if args.no_presidio else presidio_redactor()
    if args.corpus == "own":
        from workprint.privacy.corpus import TEMPLATES, generate as own
        corpora = [(f"own corpus, seed {args.seed}", own(args.per_kind, 2 * args.per_kind, args.seed),
                    list(TEMPLATES), [k for k in TEMPLATES if k != "name"])]
    else:
        from workprint.privacy.fakercorpus import KINDS, LOCALES, PATTERN_KINDS, SPLITS, generate
        corpora = [(f"faker corpus, split {split} (seed {SPLITS[split]}), {len(LOCALES)} locales",
                    generate(args.per_kind, 2 * args.per_kind, split), KINDS, PATTERN_KINDS) for split in args.split]
    for title, lines, kinds, pattern_kinds in corpora:
        # Warm-up on the first lines, for both: lazy imports, phone metadata and the name
        # dictionary load once, on first use (startup is measured apart, in bench/redact_startup.py).
        for line in lines[::50]:
            redact(line.text)
            if theirs_fn:
                theirs_fn(line.text)
        ours = score("workprint", lambda t: redact(t).text, lines)
        theirs = score("presidio", theirs_fn, lines) if theirs_fn else None
        print(f"corpus: {len(lines)} lines ({args.per_kind} per kind, {2 * args.per_kind} hard-negative lines)")
        report(title, kinds, pattern_kinds, ours, theirs)
        for kind, value, out in ours["misses"][:args.show_misses]:
            print(f"  MISS {kind:<11} {value!r:<40} -> {out!r}")
        for token, out in ours["lost"][:args.show_misses]:
            print(f"  LOST {token!r:<30} -> {out!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
