"""`workprint annotate`: model-written instructions and step reasoning, flagged as the model's."""

from __future__ import annotations

import argparse
import json
import sys

from workprint.cli.common import HelpFormatter, UserError, home as _home


def cmd_annotate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workprint.process.pyautogui_code import to_code
    from workprint.privacy.frames import RedactedFrames
    from workprint.process.sessions import load_sessions
    from workprint.model import ChatClient, ModelError
    from workprint.process.annotate import annotate_session, readable

    sessions = load_sessions(_home(), args.sessions)
    if args.dry_run:
        total = requests = 0

        def show(request, tokens):  # noqa: ANN001
            nonlocal total, requests
            total += tokens
            requests += 1
            size = f", image {request.image_size[0]}x{request.image_size[1]}" if request.image_size else ""
            print(json.dumps({"kind": request.kind, "key": request.key, "estimated_tokens": tokens,
                              "messages": readable(request)}, ensure_ascii=False) if args.json
                  else f"{request.kind:<8} {request.key:<24} ~{tokens} tokens{size}")

        for session in sessions:
            annotate_session(session, None, RedactedFrames(session), to_code, image_size=args.image_size,
                             dry_run=True, show=show)
        print(f"workprint: dry run: {requests} requests, about {total} tokens in all (text at ~4 characters a "
              "token, images by OpenAI's high-detail tile rule; other servers count images differently); "
              "nothing was sent", file=sys.stderr)
        return 0
    if not args.model:
        raise UserError("give the model server: --model http://HOST:PORT/v1 (or --dry-run to price the run first)")
    try:
        client = ChatClient(args.model, args.model_name, retries=args.retries, timeout=args.timeout)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    asked = cached = failed = 0
    with client:
        for session in sessions:
            count = sum(len(e.actions) for e in session.episodes) + len(session.episodes)
            with tqdm(total=count, desc=f"annotate {session.id}", unit="request", disable=args.quiet) as bar:
                summary = annotate_session(session, client, RedactedFrames(session), to_code,
                                           concurrency=args.concurrency, image_size=args.image_size,
                                           progress=bar.update)
            for problem in _collapsed(summary.problems):
                print(f"workprint: warning: {problem}", file=sys.stderr)
            asked, cached, failed = asked + summary.asked, cached + summary.cached, failed + summary.failed
    print(f"workprint: annotated with {client.model_name}: {asked} asked, {cached} unchanged (cached), "
          f"{failed} failed", file=sys.stderr)
    if failed and not asked and not cached:
        raise UserError("no annotation could be made; see the warnings above (is --model the right server?)")
    return 0


def _collapsed(problems: list[str]) -> list[str]:
    """One line per distinct problem (``"<kind> <key>: <why>"``): a server that is down fails every
    request the same way, and a thousand identical lines would hide the one that matters."""
    first: dict[str, str] = {}
    count: dict[str, int] = {}
    for problem in problems:
        why = problem.partition(": ")[2] or problem
        first.setdefault(why, problem)
        count[why] = count.get(why, 0) + 1
    return [first[why] + (f" (and {count[why] - 1} more with the same problem)" if count[why] > 1 else "")
            for why in first]


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "annotate", help="have a model write task instructions and step reasoning (flagged as the model's)",
        description="For episodes without an instruction, a vision model writes one (instruction_source: model, "
                    "with the model's name); for every step it writes an observation, a thought, a one-line "
                    "description and a quality label (good, redundant, mistake). A person's instruction is never "
                    "replaced. Only redacted frames and text are sent. Answers are cached by content: running "
                    "again asks only what changed. Exports and the replay report then carry them.",
        epilog="example: workprint annotate latest --model http://127.0.0.1:8000/v1 --concurrency 8\n"
               "         workprint annotate --dry-run      # what would be sent, and its estimated tokens",
        formatter_class=HelpFormatter)
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="session ids or `latest` (default: all)")
    p.add_argument("--model", metavar="URL", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 "
                                                  "(key from WORKPRINT_MODEL_KEY)")
    p.add_argument("--model-name", metavar="NAME", help="model name to request (default: the first the server lists)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="requests at once (default 4)")
    p.add_argument("--image-size", metavar="WxH|N", help="resize frames for the model (default: as recorded)")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed request (default 2)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer (default 120)")
    p.add_argument("--dry-run", action="store_true", help="print the requests and estimated tokens; send nothing")
    p.add_argument("--json", action="store_true", help="with --dry-run: one JSON object per request, with its "
                                                       "messages as they would be sent (images as their size)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_annotate)
