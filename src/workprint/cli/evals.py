"""`workprint eval build|run|score|compare`: step-level evals per interaction type."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workprint.cli.common import HelpFormatter, UserError, home as _home


class Interrupted(UserError):
    """Ctrl-C during `eval run`: the message says the run resumes; the exit code is the shell's for SIGINT."""

    exit_code = 130


def _thresholds(args: argparse.Namespace):
    from workprint.evals import Thresholds

    if not 0 < args.click_radius <= 1:
        raise UserError(f"--click-radius {args.click_radius}: a fraction of the screen diagonal, in (0, 1]")
    if not 0 <= args.text_threshold <= 1:
        raise UserError(f"--text-threshold {args.text_threshold}: an edit similarity, in [0, 1]")
    return Thresholds(click_radius=args.click_radius, text_threshold=args.text_threshold)


def _steps(directory: str):
    from workprint.evals import EvalSetError, load_steps

    try:
        return load_steps(Path(directory))
    except EvalSetError as exc:
        raise UserError(str(exc)) from None


def _score(args: argparse.Namespace, steps, predictions: Path, title: str) -> int:
    from workprint.evals import PredictionError, format_table, score_and_report

    thresholds = _thresholds(args)
    try:
        results = score_and_report(Path(args.dir), steps, predictions, Path(args.out), thresholds, title=title)
    except PredictionError as exc:
        raise UserError(str(exc)) from None
    print(format_table(results))
    print(f"results: {Path(args.out) / 'results.json'}, report: {Path(args.out) / 'report.html'}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from workprint.evals import BuildOptions, EvalSetError, build_eval_set

    options = BuildOptions(holdout=args.holdout, seed=args.seed, max_per_interaction=args.max_per_interaction)
    try:
        summary = build_eval_set(_home(), args.sessions, Path(args.out), options, progress=not args.quiet)
    except EvalSetError as exc:
        raise UserError(str(exc)) from None
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary["by_interaction"].items()))
    print(f"{summary['steps']} steps from {summary['episodes']} episodes ({kinds or 'none'}) -> {summary['out']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from workprint.evals import RunError, RunOptions, run_eval
    from workprint.evals.run import PREDICTIONS, RunInterrupted

    if bool(args.model) == bool(args.baseline):
        raise UserError("give exactly one of --model URL (an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1) "
                        "and --baseline random|center|repeat")
    steps = _steps(args.dir)
    _thresholds(args)  # bad thresholds fail before any model is asked
    options = RunOptions(model=args.model, model_name=args.model_name, format=args.format,
                         concurrency=args.concurrency, image_size=args.image_size, baseline=args.baseline,
                         seed=args.seed, retries=args.retries, timeout=args.timeout)
    try:
        counts = run_eval(Path(args.dir), steps, Path(args.out), options, progress=not args.quiet)
    except RunInterrupted as exc:
        raise Interrupted(str(exc)) from None
    except RunError as exc:
        raise UserError(str(exc)) from None
    if counts["resumed"]:
        print(f"resumed: {counts['resumed']} steps were already answered, {counts['asked']} asked now",
              file=sys.stderr)
    who = f"baseline {args.baseline}" if args.baseline else f"model {args.model_name or args.model}"
    return _score(args, steps, Path(args.out) / PREDICTIONS, title=f"workprint eval · {who}")


def cmd_score(args: argparse.Namespace) -> int:
    steps = _steps(args.dir)
    return _score(args, steps, Path(args.predictions), title=f"workprint eval · {Path(args.predictions).name}")


def cmd_compare(args: argparse.Namespace) -> int:
    from workprint.evals import compare, load_results

    try:
        a, b = load_results(Path(args.a)), load_results(Path(args.b))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"A: {args.a}\nB: {args.b}   (diff = B - A)")
    print(compare(a, b))
    return 0


def _threshold_flags(p: argparse.ArgumentParser) -> None:
    from workprint.evals.score import CLICK_RADIUS, TEXT_THRESHOLD

    p.add_argument("--click-radius", type=float, default=CLICK_RADIUS,
                   help=f"a point without a target box is right within this fraction of the screen diagonal "
                        f"(default {CLICK_RADIUS})")
    p.add_argument("--text-threshold", type=float, default=TEXT_THRESHOLD,
                   help=f"typed text is right at this normalised edit similarity or more (default {TEXT_THRESHOLD})")


def add_commands(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="build eval sets from recordings, run models on them, score per interaction",
                        description="Step-level evals from recorded episodes: each step is one decision (the "
                                    "instruction, previous actions, the redacted frame, the gold action), scored "
                                    "per interaction type (click, type, hotkey, menu, select, ...).",
                        epilog="examples:\n"
                               "  workprint eval build latest --out evalset\n"
                               "  workprint eval run evalset --model http://127.0.0.1:8000/v1 --out results\n"
                               "  workprint eval run evalset --baseline center --out base\n"
                               "  workprint eval score evalset preds.jsonl --out results\n"
                               "  workprint eval compare base results",
                        formatter_class=HelpFormatter)
    evsub = ev.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", required=True)

    p = evsub.add_parser("build", help="a step-level eval set from recorded episodes",
                         description="Write DIR/steps.jsonl (one step per line), the redacted frames in "
                                     "DIR/images/ and a card DIR/README.md counting steps by interaction.")
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="session ids or `latest` (default: all)")
    p.add_argument("--out", required=True, help="folder for steps.jsonl, images/ and README.md")
    p.add_argument("--holdout", type=float, default=None, metavar="FRACTION",
                   help="keep only this fraction of episodes, chosen by --seed (the rest is for training)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --holdout choice (default 0)")
    p.add_argument("--max-per-interaction", type=int, default=None, metavar="N",
                   help="at most N steps per interaction type, so no single type dominates")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_build)

    p = evsub.add_parser("run", help="ask a model (or a baseline) every step, then score",
                         description="Ask an OpenAI-compatible model (--model URL) or a baseline (--baseline) "
                                     "every step of an eval set, then score: RESULTS/results.json, "
                                     "predictions.jsonl and report.html. Give exactly one of --model and --baseline.",
                         epilog="example: workprint eval run evalset --model http://127.0.0.1:8000/v1 "
                                "--concurrency 8 --out results",
                         formatter_class=HelpFormatter)
    p.add_argument("dir", metavar="DIR", help="an eval set (from `workprint eval build`)")
    p.add_argument("--model", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 "
                                   "(bearer key from WORKPRINT_MODEL_KEY)")
    p.add_argument("--model-name", help="model name sent with each request (default: the first the server lists)")
    p.add_argument("--baseline", choices=["random", "center", "repeat"],
                   help="no model: random or centre points (told the action type), or repeat the previous action")
    p.add_argument("--format", choices=["pyautogui", "tools"], default="pyautogui",
                   help="pyautogui code in the reply (default) or OpenAI tool calls")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("--image-size", help="resize frames for the model: WxH or a longest side (default: as recorded)")
    p.add_argument("--retries", type=int, default=3, help="retries per request on timeouts and 5xx (default 3)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer (default 120)")
    p.add_argument("--seed", type=int, default=0, help="for --baseline random")
    p.add_argument("--out", required=True, help="RESULTS folder; a rerun with the same --out resumes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _threshold_flags(p)
    p.set_defaults(func=cmd_run)

    p = evsub.add_parser("score", help="score predictions made elsewhere with the same rules",
                         epilog="example: workprint eval score evalset preds.jsonl --out results",
                         formatter_class=HelpFormatter)
    p.add_argument("dir", metavar="DIR", help="an eval set (from `workprint eval build`)")
    p.add_argument("predictions", metavar="PREDICTIONS.jsonl",
                   help='one {"id": ..., "action": {...}} or {"id": ..., "code": "pyautogui..."} per line')
    p.add_argument("--out", required=True, help="RESULTS folder")
    _threshold_flags(p)
    p.set_defaults(func=cmd_score)

    p = evsub.add_parser("compare", help="per-type differences between two results",
                         epilog="example: workprint eval compare base results   # a baseline beside a model",
                         formatter_class=HelpFormatter)
    p.add_argument("a", metavar="R1", help="a RESULTS folder or results.json")
    p.add_argument("b", metavar="R2", help="another one; the table shows R2 - R1")
    p.set_defaults(func=cmd_compare)
