"""`workprint agent run|resume|stop` and `workprint interventions` (DESIGN.md, "Agents at work")."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from workprint.cli.common import HelpFormatter, UserError, home as _home


def cmd_agent_run(args: argparse.Namespace) -> int:
    from workprint.capture import BackendUnavailable, open_backend
    from workprint.capture.indicator import Indicator
    from workprint.model import ChatClient, ImageFit, ModelError
    from workprint.privacy.policy import Policy, PolicyError
    from workprint.store import Catalog

    if not args.task.strip():
        raise UserError('say what the agent should do: workprint agent run --task "Write a note" --model URL')
    if args.max_steps < 1:
        raise UserError("--max-steps must be at least 1")
    try:
        ImageFit.for_screen(1920, 1080, args.image_size)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from workprint.cli.recording import require_consent
    from workprint.home import home_path

    home = home_path()  # not created yet: a run refused for want of consent writes nothing
    try:
        policy = Policy.load(args.policy)
        backend = open_backend()
    except (PolicyError, BackendUnavailable) as exc:
        raise UserError(str(exc)) from None
    from workprint.agent.link import LinkError, join  # (the input hooks' key names need the display)

    try:
        joined = join(home)
    except LinkError as exc:
        raise UserError(str(exc)) from None
    if joined is not None:  # the recording it joins passed the consent check when it started
        return _run_joined(args, joined, backend, policy if args.policy else None)
    require_consent(policy, args.policy)  # it records its own session, as `workprint record` would
    home = _home()
    running = [s.id for s in Catalog(home).list() if s.status == "recording"]
    if running:  # a recorder whose agent link did not start (its warnings say why)
        raise UserError(f"a recording is running (session {running[0]}) but does not take agent runs; stop it "
                        "(Ctrl-C in its terminal) and start `workprint agent run`, which records the run itself")
    try:
        client = ChatClient(args.model, args.model_name)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    from workprint.agent.runner import AgentRun
    from workprint.recorder import Recorder

    recorder = Recorder(home, backend, policy, indicator=Indicator(enabled=not args.quiet, notify=backend.notify))
    run = AgentRun(recorder, backend, client, args.task, fmt=args.format, max_steps=args.max_steps,
                   image_size=args.image_size, redact_screens=not args.no_screen_redaction)
    _stop_on_signals(run)
    thread = threading.Thread(target=recorder.run, name="workprint-recorder", daemon=True)
    thread.start()
    if not recorder.ready.wait(30):
        recorder.stop()
        raise UserError("the recorder did not start; see `workprint record` for what is wrong")
    print(f"workprint agent: recording session {recorder.session_id} (policy: {policy.source}); the agent "
          f"{client.model_name} starts. {_CONTROLS}", file=sys.stderr)
    try:
        result = run.run()
    finally:
        recorder.stop()
        thread.join(timeout=60)
        client.close()
    for problem in recorder.problems:
        print(f"workprint: warning: {problem}", file=sys.stderr)
    return _report(result, recorder.session_id)


_CONTROLS = ("Any key or click of yours takes control; hand back with ctrl+alt+g or `workprint agent resume`; "
             "`workprint agent stop` ends the run")


def _stop_on_signals(run) -> None:
    def on_signal(signum, frame):  # noqa: ARG001
        run.channel.send("stop")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def _run_joined(args: argparse.Namespace, channel, backend, policy) -> int:
    """The run joins the recording already going on (`workprint record` in another process): one
    timeline, that recorder's policy and consent. ``policy``: the one --policy named, if any."""
    from workprint.model import ChatClient, ModelError

    try:
        if policy is not None:
            mine = policy.to_dict()
            theirs = dict(channel.policy)
            if {k: v for k, v in mine.items() if k != "source"} != {k: v for k, v in theirs.items() if k != "source"}:
                raise UserError(f"the recording running (session {channel.session}) records under policy "
                                f"{theirs.get('source')!r}, not {args.policy}; a joined agent run uses the "
                                "recording's policy: leave out --policy, or stop the recording and start "
                                "`workprint agent run --policy FILE`, which records the run itself")
        client = ChatClient(args.model, args.model_name)
    except ModelError as exc:
        channel.close()
        raise UserError(str(exc)) from None
    except UserError:
        channel.close()
        raise
    from workprint.agent.runner import AgentRun

    run = AgentRun(None, backend, client, args.task, fmt=args.format, max_steps=args.max_steps,
                   image_size=args.image_size, redact_screens=not args.no_screen_redaction, channel=channel)
    _stop_on_signals(run)
    print(f"workprint agent: joining the recording running now, session {channel.session} (the recording's "
          f"policy: {channel.policy.get('source')}); the agent {client.model_name} starts. {_CONTROLS}; "
          "the recording goes on after the run", file=sys.stderr)
    try:
        result = run.run()
    finally:
        channel.close()
        client.close()
    return _report(result, channel.session)


def _report(result, session_id: str) -> int:
    print(f"workprint agent: {result.status} after {result.steps} step(s), {result.actions} action(s), "
          f"{result.takeovers} intervention(s). See `workprint interventions {session_id}`.", file=sys.stderr)
    print(session_id)
    if result.status == "error":
        raise UserError(f"the agent run ended with an error: {result.error}")
    return 0


def _send(command: str, what: str) -> int:
    from workprint.home import agent_run_going, send_control

    home = _home()
    if not agent_run_going(home):
        raise UserError("no agent run is going on; start one with `workprint agent run --task ... --model URL`")
    send_control(home, {"command": command})
    print(f"workprint agent: {what}")
    return 0


def cmd_agent_resume(args: argparse.Namespace) -> int:  # noqa: ARG001
    return _send("agent_resume", "control handed back to the agent")


def cmd_agent_stop(args: argparse.Namespace) -> int:  # noqa: ARG001
    return _send("agent_stop", "the run ends")


def cmd_interventions(args: argparse.Namespace) -> int:
    from workprint.cli.common import load_session
    from workprint.process.interventions import derive_interventions

    session = load_session(args.session)
    records = derive_interventions(session.events, session.actions)
    for record in records:
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
            continue
        proposed = (record.get("proposed") or {}).get("code", "-")
        done = "" if (record.get("proposed") or {}).get("executed", True) else " (not executed)"
        end = f"{record['t_end']:.2f}" if record.get("t_end") is not None else "?"
        print(f"#{record['id']}  {record['t']:.2f}-{end}s  {record['trigger']}  handback: {record['handback']}  "
              f"agent proposed: {proposed}{done}  person did {len(record['human_actions'])} action(s) "
              f"{record['human_actions']}")
    if not records and not args.json:
        print("no interventions in this session", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="let an agent drive the desktop while you watch (and take over)",
                       description="An agent works on a task through any OpenAI-compatible model server; the "
                                   "run is recorded like `workprint record` (or joins the `workprint record` "
                                   "already running). Your first key or click pauses it and what you do is "
                                   "recorded as an intervention.")
    agent = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = agent.add_parser("run", help="start an agent on a task",
                           description="With no recording running, the run records its own session under "
                                       "--policy. With `workprint record` running (same WORKPRINT_HOME), it joins "
                                       "that recording: one timeline, the recording's policy (a different "
                                       "--policy is refused), one agent at a time; if the recording stops, the "
                                       "agent stops. Exit 0 when the agent says done or fail, or the run is "
                                       "stopped; 2 with a message when the model server cannot be used or the "
                                       "recording it joined went away.",
                           epilog="example: workprint agent run --task \"Write a note\" "
                                  "--model http://127.0.0.1:8000/v1 --policy policy.toml",
                           formatter_class=HelpFormatter)
    run.add_argument("--task", required=True, metavar="TEXT", help="what the agent should do")
    run.add_argument("--model", required=True, metavar="URL",
                     help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (key: $WORKPRINT_MODEL_KEY)")
    run.add_argument("--model-name", metavar="NAME", help="model name to request (default: the server's first)")
    run.add_argument("--format", choices=["pyautogui", "tools"], default="pyautogui",
                     help="pyautogui code in the reply (default) or OpenAI tool calls")
    run.add_argument("--max-steps", type=int, default=30, metavar="N", help="end with fail after N steps (30)")
    run.add_argument("--policy", metavar="FILE", help="TOML policy: the apps the agent may see and act on "
                                                      "(joining a running recording: that recording's policy)")
    run.add_argument("--image-size", metavar="WxH|N", help="resize screenshots for the model (e.g. 1280x720)")
    run.add_argument("--no-screen-redaction", action="store_true",
                     help="do not OCR-mask flagged text in screenshots sent to the model (denied windows stay black)")
    run.add_argument("--quiet", action="store_true", help="no status line or desktop notifications (a joined run "
                                                          "shows them through the recording it joined)")
    run.set_defaults(func=cmd_agent_run)
    resume = agent.add_parser("resume", help="hand control back to the agent after a takeover (or ctrl+alt+g)",
                              description="Your input paused the agent (or it asked for you); what you did since "
                                          "is an intervention. This ends it and lets the agent go on.")
    resume.set_defaults(func=cmd_agent_resume)
    stop = agent.add_parser("stop", help="end the agent run",
                            description="End the agent run now (your verdict: stopped; an open intervention ends "
                                        "with handback `stop`). A recording the run joined goes on.")
    stop.set_defaults(func=cmd_agent_stop)

    p = sub.add_parser("interventions", help="where a person took over from an agent, in a session",
                       description="Every moment in a session where a person took over from an agent (their "
                                   "input, the agent's call_user, or an app the policy refused): what the agent "
                                   "had done and proposed, what the person did, and how control went back.",
                       epilog="example: workprint interventions latest --json",
                       formatter_class=HelpFormatter)
    p.add_argument("session", metavar="SESSION", help="a session id or `latest`")
    p.add_argument("--json", action="store_true", help="one intervention record per line")
    p.set_defaults(func=cmd_interventions)
