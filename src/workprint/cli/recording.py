"""`workprint record`, `pause`/`resume` and `task`: what runs on the contributor's machine while recording."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from workprint.cli.common import ConsentRequired, HelpFormatter, UserError, home as _home


def require_consent(policy, policy_arg: str | None) -> None:
    """Before anything touches the screen or the disk: is there a current agreement for this policy?
    Every command that records its own session (`record`, `agent run`) asks this first."""
    from workprint.home import home_path
    from workprint.privacy.consent import ConsentError, status

    try:
        state = status(home_path(), policy)
    except ConsentError as exc:
        raise ConsentRequired(f"not recording: {exc}") from None
    if state.current:
        return
    flag = f" --policy {policy_arg}" if policy_arg else ""
    raise ConsentRequired(f"not recording: {'; '.join(state.reasons)}. Read what would be recorded with "
                          f"`workprint consent show{flag}`, and agree with `workprint consent accept{flag}`. "
                          "Nothing was written.")


def cmd_record(args: argparse.Namespace) -> int:
    from workprint.capture import BackendUnavailable, open_backend
    from workprint.capture.indicator import Indicator
    from workprint.privacy.policy import Policy, PolicyError

    try:
        policy = Policy.load(args.policy)
    except PolicyError as exc:
        raise UserError(str(exc)) from None
    require_consent(policy, args.policy)
    try:
        backend = open_backend()
    except (PolicyError, BackendUnavailable) as exc:
        raise UserError(str(exc)) from None
    from workprint.recorder import Recorder  # imports the input hooks, which need a display
    home = _home()
    recorder = Recorder(home, backend, policy, indicator=Indicator(enabled=not args.quiet, notify=backend.notify))

    def on_signal(signum, frame):  # noqa: ARG001
        recorder.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"workprint: recording session {recorder.session_id} (policy: {policy.source}); "
          "Ctrl-C to stop, `workprint pause` to pause", file=sys.stderr)
    recorder.run(duration=args.duration)
    for problem in recorder.problems:
        print(f"workprint: warning: {problem}", file=sys.stderr)
    print(recorder.session_id)
    _auto_upload(home)
    return 0


def _auto_upload(home: Path) -> None:
    """With a collector configured, send what is ready (reviewed, or past the review window)."""
    if not (home / "collector.sealed").exists():
        return
    from workprint.upload.client import UploadError, upload

    try:
        done = upload(home, [])
    except UploadError as exc:
        print(f"workprint: automatic upload did not run: {exc}", file=sys.stderr)
        return
    if done:
        print(f"workprint: uploaded {len(done)} reviewed session(s) to the collector", file=sys.stderr)


def cmd_pause(args: argparse.Namespace) -> int:
    from workprint.home import set_paused

    from workprint.store import Catalog

    home = _home()
    set_paused(home, args.command == "pause")
    running = any(s.status == "recording" for s in Catalog(home).list())
    if args.command == "pause":
        print("workprint: paused; nothing is recorded until `workprint resume`" if running else
              "workprint: paused, though no recording is running: the next `workprint record` records "
              "nothing until `workprint resume`")
    else:
        print("workprint: resumed" if running else "workprint: resumed (no recording is running)")
    return 0


def cmd_task(args: argparse.Namespace) -> int:
    from workprint.home import send_control
    from workprint.store import Catalog

    home = _home()
    if not any(s.status == "recording" for s in Catalog(home).list()):
        raise UserError("no recording is running; start one with `workprint record`, then mark tasks")
    if args.action == "start":
        if not args.instruction.strip():
            raise UserError('say what the task is: workprint task start "Book a meeting room for Friday"')
        send_control(home, {"command": "task_start", "instruction": args.instruction})
        print(f"workprint: task started: {args.instruction}")
    else:
        send_control(home, {"command": "task_end", "status": args.status})
        print("workprint: task ended")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record until Ctrl-C, SIGTERM or --duration",
                       description="Record input, windows and screenshots of the apps the policy allows. "
                                   "Stops cleanly on Ctrl-C, SIGTERM or after --duration seconds.")
    p.add_argument("--policy", metavar="FILE",
                   help="TOML policy: [apps] allow/deny app ids, [urls] allow/deny page globs (see the README); "
                        "default: every app and page but the built-in deny-list")
    p.add_argument("--duration", metavar="S", type=float, help="stop after S seconds")
    p.add_argument("--quiet", action="store_true", help="no status line or desktop notifications")
    p.set_defaults(func=cmd_record)

    for name, text in (("pause", "stop recording until `workprint resume`"), ("resume", "start recording again")):
        p = sub.add_parser(name, help=text,
                           description="Pause or resume the running recorder (the hotkey ctrl+alt+p toggles it). "
                                       "While paused nothing is written; a pause given with no recording running "
                                       "holds for the next `workprint record` until `workprint resume`.")
        p.set_defaults(func=cmd_pause)

    p = sub.add_parser("task", help="mark where a task starts and ends while recording (or ctrl+alt+t)",
                       description="Tasks become episodes whose instruction is what you typed here. "
                                   "Without marks, sessions are split at idle gaps and app switches and the "
                                   "instruction is left empty.")
    task = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = task.add_parser("start", help='start a task: workprint task start "Book a room for Friday"',
                            description="Mark that a task starts now, in the running recording: what follows, "
                                        "until `workprint task end` or the next start, is one episode with this "
                                        "instruction.",
                            epilog='example: workprint task start "Book a room for Friday"',
                            formatter_class=HelpFormatter)
    start.add_argument("instruction", help="what you are about to do, in your words")
    end = task.add_parser("end", help="end the current task",
                          description="Mark that the current task ended: its episode ends with a `done` step "
                                      "(`fail` when --status is failed or abandoned).",
                          epilog="example: workprint task end --status failed",
                          formatter_class=HelpFormatter)
    end.add_argument("--status", choices=["done", "failed", "abandoned"], default="done",
                     help="how the task ended (default done)")
    p.set_defaults(func=cmd_task)
