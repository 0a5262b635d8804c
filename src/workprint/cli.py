"""The ``workprint`` command line (contract: DESIGN.md, section Command line)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from workprint import __version__

EPILOG = """\
examples:
  workprint record --policy policy.toml      record until Ctrl-C (or SIGTERM)
  workprint record --duration 60             record for one minute
  workprint pause / workprint resume         stop and restart recording at any moment (or ctrl+alt+p)
  workprint sessions                         list recorded sessions
  workprint actions latest                   what you did, one action per line
  workprint export latest --format hf --out ds   a dataset `datasets.load_dataset("parquet", ...)` reads
  workprint report latest --out replay.html     step through a session in the browser
  echo 'mail bob@example.com' | workprint redact

Data lives in $WORKPRINT_HOME (default: the platform's user data dir), encrypted.
"""


class UserError(Exception):
    """Printed as `workprint: <message>` with exit code 2, no traceback."""


def _home() -> Path:
    from workprint.home import workprint_home

    return workprint_home()


def cmd_record(args: argparse.Namespace) -> int:
    from workprint.capture import BackendUnavailable, open_backend
    from workprint.capture.indicator import Indicator
    from workprint.privacy.policy import Policy, PolicyError

    try:
        policy = Policy.load(args.policy)
        backend = open_backend()
    except (PolicyError, BackendUnavailable) as exc:
        raise UserError(str(exc)) from None
    from workprint.recorder import Recorder  # imports the input hooks, which need a display
    home = _home()
    recorder = Recorder(home, backend, policy, indicator=Indicator(enabled=not args.quiet))

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


def load_session(ref: str):
    """(reader, actions) for a session id or `latest`; problems are printed as warnings."""
    from workprint.process import derive_actions
    from workprint.store import Catalog, SessionReader, StoreError

    home = _home()
    try:
        session_id = Catalog(home).resolve(ref)
        reader = SessionReader(home, session_id)
        events = reader.events()
    except StoreError as exc:
        raise UserError(str(exc)) from None
    for problem in reader.problems:
        print(f"workprint: warning: session {session_id}: {problem}", file=sys.stderr)
    return reader, derive_actions(events)


def cmd_actions(args: argparse.Namespace) -> int:
    from workprint.process import describe

    _, actions = load_session(args.session)
    for action in actions:
        print(json.dumps(action, ensure_ascii=False) if args.json else describe(action))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    from workprint.home import pause_flag

    flag = pause_flag(_home())
    if args.command == "pause":
        flag.touch()
        print("workprint: paused; nothing is recorded until `workprint resume`")
    else:
        flag.unlink(missing_ok=True)
        print("workprint: resumed")
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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from workprint.server import create_app

    data = Path(args.data)
    app = create_app(data)
    print(f"workprint collector on http{'s' if args.tls_cert else ''}://{args.host}:{args.port} "
          f"(data in {data}; the first admin token is in {data / 'admin.token'})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from workprint.server.storage import Catalog as CollectorCatalog

    path = Path(args.data) / "catalog.sqlite"
    if not path.exists():
        raise UserError(f"no collector catalog at {path}; give the --data folder of `workprint serve`")
    intact, count, problem = CollectorCatalog(path).verify_audit()
    if intact:
        print(f"workprint: audit log intact ({count} entries, hash chain verified)")
        return 0
    print(f"workprint: audit log BROKEN: {problem}", file=sys.stderr)
    return 1


def cmd_enrol(args: argparse.Namespace) -> int:
    from workprint.upload.client import UploadError, enrol

    try:
        who = enrol(_home(), args.url, args.code)
    except UploadError as exc:
        raise UserError(str(exc)) from None
    print(f"workprint: enrolled with {args.url}; the collector knows you as {who}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from workprint.upload.client import approve

    home = _home()
    if args.approve:
        from workprint.store import Catalog, StoreError

        try:
            session_id = Catalog(home).resolve(args.approve)
        except StoreError as exc:
            raise UserError(str(exc)) from None
        approve(home, session_id)
        print(f"workprint: {session_id} approved for upload")
        return 0
    import uvicorn

    from workprint.upload.review import create_review_app

    app, token = create_review_app(home)
    url = f"http://127.0.0.1:{args.port}/{token}/"
    print(f"workprint review: {url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from workprint.upload.client import UploadError, upload

    try:
        done = upload(_home(), args.sessions, progress=lambda m: print(f"workprint: {m}", file=sys.stderr))
    except UploadError as exc:
        raise UserError(str(exc)) from None
    print(f"workprint: uploaded {len(done)} session(s): {' '.join(done) or '-'}")
    return 0


def cmd_extension(args: argparse.Namespace) -> int:  # noqa: ARG001
    from workprint.capture.browser import extension_dir

    print(extension_dir(_home()))
    return 0


def cmd_redact(args: argparse.Namespace) -> int:  # noqa: ARG001
    from workprint.privacy import redact

    for line in sys.stdin:
        end = "\n" if line.endswith("\n") else ""
        sys.stdout.write(redact(line[:-1] if end else line).text + end)
        sys.stdout.flush()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from workprint.export import ExportError, run_export

    try:
        summary = run_export(_home(), args.sessions, args.format, Path(args.out), split=args.split,
                             seed=args.seed, images=args.images, progress=not args.quiet)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    print(f"workprint: exported {summary['steps']} steps from {summary['sessions']} session(s) to "
          f"{summary['out']} ({summary['written']} written, {summary['skipped']} unchanged)", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from workprint.export.report import write_report
    from workprint.export.steps import ExportError, load_sessions

    try:
        (session,) = load_sessions(_home(), [args.session])
    except ExportError as exc:
        raise UserError(str(exc)) from None
    with tqdm(total=len(session.actions), desc="report", unit="step", disable=args.quiet) as bar:
        path = write_report(session, Path(args.out), progress=bar.update)
    print(f"workprint: replay report written to {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workprint",
        description="Record how you use your computer, with consent, only in allowed apps, "
                    "with secrets removed on this machine; turn recordings into agent training data.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"workprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("record", help="record until Ctrl-C, SIGTERM or --duration",
                       description="Record input, windows and screenshots of the apps the policy allows. "
                                   "Stops cleanly on Ctrl-C, SIGTERM or after --duration seconds.")
    p.add_argument("--policy", metavar="FILE", help="TOML policy: [apps] allow/deny (see DESIGN.md)")
    p.add_argument("--duration", metavar="S", type=float, help="stop after S seconds")
    p.add_argument("--quiet", action="store_true", help="no status line or desktop notifications")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("sessions", help="list recorded sessions")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("actions", help="the actions of a session")
    p.add_argument("session", metavar="SESSION", help="a session id (or unique prefix), or `latest`")
    p.add_argument("--json", action="store_true", help="one JSON object per line (DESIGN.md vocabulary)")
    p.set_defaults(func=cmd_actions)

    for name, text in (("pause", "stop recording until `workprint resume`"), ("resume", "start recording again")):
        p = sub.add_parser(name, help=text)
        p.set_defaults(func=cmd_pause)

    p = sub.add_parser("task", help="mark where a task starts and ends while recording (or ctrl+alt+t)",
                       description="Tasks become episodes whose instruction is what you typed here. "
                                   "Without marks, sessions are split at idle gaps and app switches and the "
                                   "instruction is left empty.")
    task = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = task.add_parser("start", help='start a task: workprint task start "Book a room for Friday"')
    start.add_argument("instruction", help="what you are about to do, in your words")
    end = task.add_parser("end", help="end the current task")
    end.add_argument("--status", choices=["done", "failed", "abandoned"], default="done")
    p.set_defaults(func=cmd_task)

    p = sub.add_parser("export", help="export sessions as a training dataset",
                       description="Export recorded sessions (all if none given) with redacted frames. "
                                   "Formats: hf (Parquet for Hugging Face datasets), opencua (AgentNet-style "
                                   "trajectories), chat (OpenAI-style chat JSONL). Exporting again to the same "
                                   "--out rewrites only sessions that changed.")
    p.add_argument("sessions", nargs="*", metavar="SESSION", help="session ids or `latest` (default: all)")
    p.add_argument("--format", required=True, choices=["hf", "opencua", "chat"])
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--split", metavar="SHARES", help="train,validation,test shares by episode, e.g. 0.8,0.1,0.1")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--images", choices=["path", "inline"], default="path", help="chat: image files or data URLs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="write a replay page (HTML) of a session")
    p.add_argument("session", metavar="SESSION", help="a session id or `latest`")
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("serve", help="run the collector service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--data", default="collector-data", help="blobs and catalog (default: ./collector-data)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("audit", help="verify the collector's hash-chained audit log")
    p.add_argument("what", choices=["verify"])
    p.add_argument("--data", default="collector-data", help="the collector's data folder")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("enrol", help="enrol this device with a collector, using a code from an admin")
    p.add_argument("url")
    p.add_argument("code")
    p.set_defaults(func=cmd_enrol)

    p = sub.add_parser("review", help="look at sessions before upload: approve, delete, delete a time range",
                       description="Opens a local page listing sessions not uploaded yet; each plays like the "
                                   "replay report and can be approved for upload, deleted, or cut (a time range "
                                   "removed from the store). --approve SESSION approves without the page.")
    p.add_argument("--approve", metavar="SESSION", help="approve one session for upload and exit")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--no-browser", action="store_true", help="print the page's address, do not open a browser")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("upload", help="upload reviewed sessions (redacted) to the enrolled collector")
    p.add_argument("sessions", nargs="*", metavar="SESSION")
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("extension", help="the browser extension: `workprint extension path` prints its folder",
                       description="Prints the folder of the unpacked Manifest V3 extension for this install "
                                   "(with its loopback token). Load it in chrome://extensions (developer mode, "
                                   "Load unpacked) or with --load-extension=FOLDER.")
    p.add_argument("what", choices=["path"])
    p.set_defaults(func=cmd_extension)

    p = sub.add_parser("redact", help="redact text lines from stdin to stdout")
    p.set_defaults(func=cmd_redact)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"workprint: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
