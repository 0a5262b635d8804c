"""`workprint sessions`, `actions`, `redact`, `export` and `report`: reading what was recorded."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workprint.cli.common import HelpFormatter, UserError, home as _home, load_session

def cmd_sessions(args: argparse.Namespace) -> int:
    from workprint.store import Catalog

    sessions = Catalog(_home()).list()
    if args.json:
        for info in sessions:
            row = info.to_dict()
            minutes = info.active_s / 60
            row["bytes_per_active_minute"] = round(info.bytes / minutes) if minutes > 0 else None
            print(json.dumps(row))
        return 0
    if not sessions:
        print("no sessions yet; record one with `workprint record`")
        return 0
    print(f"{'session':<24} {'started (UTC)':<26} {'status':<12} {'events':>7} {'frames':>7} {'MB':>7}")
    for info in sessions:
        print(f"{info.id:<24} {info.started_at:<26} {info.status:<12} {info.events:>7} {info.frames:>7} "
              f"{info.bytes / 1e6:>7.1f}")
    return 0


def cmd_actions(args: argparse.Namespace) -> int:
    from workprint.process import action_line

    for action in load_session(args.session).actions:
        print(json.dumps(action, ensure_ascii=False) if args.json else action_line(action))
    return 0


def cmd_redact(args: argparse.Namespace) -> int:  # noqa: ARG001
    from workprint.privacy import redact

    for line in sys.stdin:
        end = "\n" if line.endswith("\n") else ""
        sys.stdout.write(redact(line[:-1] if end else line).text + end)
        sys.stdout.flush()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from workprint.export import ExportError, ExportOptions, run_export

    options = ExportOptions(image_base_url=args.image_base_url, allow_empty_instruction=args.allow_empty_instruction,
                            reasoning=args.reasoning)
    collector = None
    if args.collector:
        import os

        token = os.environ.get("WORKPRINT_COLLECTOR_TOKEN", "").strip()
        if not token:
            raise UserError("--collector needs a trainer token in WORKPRINT_COLLECTOR_TOKEN (an admin makes one: "
                            "POST /v1/tokens with {\"role\": \"trainer\"})")
        collector = (args.collector, token)
    elif args.ray:
        raise UserError("--ray spreads a collector export (--collector URL) over Ray; give --collector too")
    try:
        summary = run_export(_home(), args.sessions, args.format, Path(args.out), split=args.split,
                             seed=args.seed, options=options, progress=not args.quiet,
                             collector=collector, ray_address=args.ray)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    skipped = summary["episodes_without_instruction"]
    if skipped:
        print(f"workprint: left out {len(skipped)} episode(s) without an instruction "
              f"({', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}): {args.format} needs a task per "
              "episode. Mark tasks while recording (`workprint task start \"...\"`), let `workprint annotate` "
              "write them, or pass --allow-empty-instruction to keep them.", file=sys.stderr)
    for reason, n in summary["left_out"].items():
        if not reason.endswith("without an instruction"):
            print(f"workprint: left out {n} step(s): {reason}", file=sys.stderr)
    print(f"workprint: exported {summary['steps']} steps from {summary['sessions']} session(s) to "
          f"{summary['out']} ({summary['written']} written, {summary['skipped']} unchanged)", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workprint.export.report import write_report

    session = load_session(args.session)
    with tqdm(total=len(session.actions), desc="report", unit="step", disable=args.quiet) as bar:
        path = write_report(session, Path(args.out), progress=bar.update)
    print(f"workprint: replay report written to {path}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sessions", help="list recorded sessions",
                       description="List the sessions on this device: id, start time, status (recording, "
                                   "finished, or interrupted by a crash), events, frames and size. Give an id "
                                   "(or `latest`) to `actions`, `export`, `report` or `upload`.")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("actions", help="the actions of a session",
                       description="What was done in a session, one action per line in pyautogui's vocabulary "
                                   "(click, type, hotkey, scroll, drag, ...), with typed text already redacted.",
                       epilog="example: workprint actions latest --json | head",
                       formatter_class=HelpFormatter)
    p.add_argument("session", metavar="SESSION", help="a session id (or unique prefix), or `latest`")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: type and its fields, t, t_end, source, app, window, screen, "
                        "frame, frame_after, target, trace")
    p.set_defaults(func=cmd_actions)

    from workprint.export.formats import REGISTRY

    p = sub.add_parser("export", help="export sessions as a training dataset or benchmark",
                       description="Export recorded sessions (all if none given) with redacted frames. Formats: "
                                   "hf (Parquet for Hugging Face datasets), opencua (AgentNet JSONL for OpenCUA's "
                                   "tools), agentnetbench (OpenCUA's offline benchmark), chat (OpenAI fine-tuning "
                                   "JSONL), chat-preference (OpenAI preference/DPO JSONL), trl (TRL SFTTrainer "
                                   "Parquet), sharegpt (LLaMA-Factory); from agent runs: preference (TRL DPO pairs, one "
                                   "per intervention), rlif (agent steps with intervened and reward). Exporting again to the same --out "
                                   "rewrites only sessions that changed.",
                       epilog="examples:\n"
                              "  workprint export latest --format hf --out ds\n"
                              "  workprint export --format opencua --split 0.8,0.1,0.1 --seed 0 --out agentnet\n"
                              "  workprint export --collector https://collector:8765 --format hf --out ds --ray",
                       formatter_class=HelpFormatter)
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="session ids or `latest` (default: all)")
    p.add_argument("--format", required=True, choices=list(REGISTRY), help="the dataset format (see above)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder to write into (with a README.md dataset card); exporting again updates it")
    p.add_argument("--split", metavar="SHARES", help="train,validation,test shares by episode, e.g. 0.8,0.1,0.1")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--image-base-url", metavar="URL",
                   help="chat formats: image URLs under URL (the PNGs go to DIR/images/ for you to host there) "
                        "instead of inline base64 data URLs")
    p.add_argument("--allow-empty-instruction", action="store_true",
                   help="opencua, agentnetbench: keep episodes without an instruction (left out by default)")
    p.add_argument("--reasoning", action="store_true",
                   help="chat, trl, sharegpt: answer with the step's thought, then the action, where "
                        "`workprint annotate` wrote one")
    p.add_argument("--collector", metavar="URL",
                   help="export what a collector holds (its trainer view: sessions not quarantined, no owner) "
                        "instead of this device's sessions; the trainer token comes from WORKPRINT_COLLECTOR_TOKEN")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="with --collector: fetch and redact frames on a Ray cluster (no ADDRESS: a local one); "
                        "the output is byte-identical to the run without Ray")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="write a replay page (HTML) of a session",
                       description="Write one self-contained HTML page to step through a session (← → keys): "
                                   "each action with the redacted screenshot it was made on.",
                       epilog="example: workprint report latest --out replay.html",
                       formatter_class=HelpFormatter)
    p.add_argument("session", metavar="SESSION", help="a session id or `latest`")
    p.add_argument("--out", required=True, metavar="FILE.html", help="the page to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("redact", help="redact text lines from stdin to stdout",
                       description="Apply the recorder's text redaction to each line of stdin: e-mails, phones, "
                                   "cards, IBANs, keys and tokens, passwords, names, addresses become placeholders "
                                   "such as [EMAIL].",
                       epilog="example: echo 'mail bob@example.com' | workprint redact   # mail [EMAIL]",
                       formatter_class=HelpFormatter)
    p.set_defaults(func=cmd_redact)
