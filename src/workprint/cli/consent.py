"""`workprint consent show|accept|withdraw`: the notice, the agreement on record, and the way out.

Contract (DESIGN.md, Consent): `record` without a current agreement exits 3 and writes nothing;
a policy that records more than what was agreed needs a new agreement, a narrower one does not.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from workprint.cli.common import HelpFormatter, UserError


def _load(args: argparse.Namespace):
    from workprint.privacy.policy import Policy, PolicyError

    try:
        return Policy.load(args.policy)
    except PolicyError as exc:
        raise UserError(str(exc)) from None


def _enrolled(home: Path) -> bool:
    return (home / "collector.sealed").exists()


def _destination(home: Path):
    """Where data would go; asks an enrolled collector for its retention (a notice must not guess)."""
    from workprint.privacy.consent import Destination

    if not _enrolled(home):
        return Destination()
    from workprint.upload.client import UploadError, collector_terms, load_enrolment  # httpx and friends: only when enrolled

    try:
        config = load_enrolment(home)
    except Exception as exc:  # a damaged or foreign sealed file
        raise UserError(f"the enrolment on this device cannot be read ({exc}); enrol again with "
                        "`workprint enrol URL CODE`") from None
    try:
        retention = collector_terms(home).get("retention_days")
    except UploadError:
        return Destination(config["url"], config["pseudonym"], None, terms_known=False)
    return Destination(config["url"], config["pseudonym"], retention)


_ERASURE_PENDING = ("the erasure you asked for has not reached the collector yet: run `workprint consent withdraw "
                    "--erase` again when it can be reached")


def _status_line(home: Path, policy) -> str:
    from workprint.privacy.consent import ConsentError, erasure_pending, status

    try:
        state = status(home, policy)
        if erasure_pending(home):
            return f"Status: consent withdrawn; {_ERASURE_PENDING}."
    except ConsentError as exc:
        return f"Status: {exc}"
    if state.current and state.agreement is not None:
        return (f"Status: you agreed to this policy on {state.agreement.accepted_at} "
                f"(notice version {state.agreement.notice_version}); recording may run.")
    return f"Status: no current agreement ({'; '.join(state.reasons)}); `workprint record` will not start."


def cmd_show(args: argparse.Namespace) -> int:
    from workprint.home import home_path
    from workprint.privacy.consent import build_notice

    home = home_path()
    policy = _load(args)
    notice = build_notice(policy, _destination(home))
    if args.html:
        sys.stdout.write(notice.html())
        return 0
    sys.stdout.write(notice.text())
    print(f"\nNotice hash: {notice.digest()}")
    print(_status_line(home, policy))
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    from workprint.home import workprint_home
    from workprint.privacy import consent

    policy = _load(args)
    home = workprint_home()
    if consent.erasure_pending(home):  # agreeing again must not leave behind what the person asked to erase
        raise UserError(f"not agreed: {_ERASURE_PENDING}; then agree again")
    destination = _destination(home)
    notice = consent.build_notice(policy, destination)
    if not args.yes:
        sys.stdout.write(notice.text())
        sys.stdout.flush()
        try:
            answer = input("\nDo you agree to be recorded as described above? Type yes to agree: ")
        except EOFError:
            raise UserError("no answer: agreeing needs you to type yes in a terminal. Read the notice with "
                            "`workprint consent show`, then run `workprint consent accept`, or "
                            "`workprint consent accept --yes` to agree without the question") from None
        if answer.strip().lower() not in ("yes", "y"):
            print("workprint: you did not agree; nothing was changed and nothing will be recorded", file=sys.stderr)
            return 1
    agreement = consent.accept(home, policy, notice, destination.url)
    print(f"workprint: consent recorded on this device: notice version {agreement.notice_version} "
          f"(sha256 {agreement.notice_hash[:16]}), policy {policy.source} (sha256 {agreement.policy_hash[:16]}), "
          f"{agreement.accepted_at}")
    if destination.url is not None:
        from workprint.upload.client import UploadError, send_consent

        try:
            cid = send_consent(home, agreement.to_dict())
        except UploadError as exc:
            raise UserError(f"agreed on this device, but the collector did not record it ({exc}); nothing is "
                            "uploaded until it does: run `workprint consent accept` again when it can be "
                            "reached") from None
        print(f"workprint: the collector at {destination.url} has it on record ({cid}, as {destination.pseudonym})")
    return 0


def _running_recorders(home: Path) -> list[int]:
    """Pids of `workprint record` and `workprint agent run` processes writing into this home (checked
    by their command line, so a reused pid is never signalled)."""
    import sqlite3

    path = home / "catalog.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=10)
    try:
        rows = db.execute("SELECT pid FROM sessions WHERE status='recording' AND pid IS NOT NULL").fetchall()
    finally:
        db.close()
    pids = []
    for (pid,) in rows:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if _records(cmdline):
            pids.append(pid)
    return pids


def _records(cmdline: list[bytes]) -> bool:
    """Is this command line `workprint record` or `workprint agent run`, however it was started
    (the `workprint` script, whose path is an argument of its interpreter, or `python -m workprint`)?"""
    args = [a.decode(errors="replace") for a in cmdline if a]
    for i, arg in enumerate(args):
        if arg == "workprint" or Path(arg).name in ("workprint", "workprint.exe"):
            rest = args[i + 1:]
            return rest[:1] == ["record"] or rest[:2] == ["agent", "run"]
    return False


def _running(pid: int) -> bool:
    """Alive and not a zombie (a finished child its parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _stop_recorders(home: Path) -> int:
    pids = _running_recorders(home)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.2)
    return len(pids)


def _erase_here(home: Path) -> tuple[int, int, int]:
    """Deletes every session on this device; returns (sessions, frames, bytes)."""
    from workprint.store import Catalog
    from workprint.store.session import SESSION_ID_RE, delete_session, sessions_dir

    folder = sessions_dir(home)
    count = frames = size = 0
    if folder.is_dir():
        catalog = Catalog(home)
        known = {info.id: info.frames for info in catalog.list()}
        for path in sorted(folder.iterdir()):
            if not (path.is_dir() and SESSION_ID_RE.match(path.name)):
                continue
            size += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            frames += known.get(path.name, 0)
            delete_session(home, path.name)
            catalog.remove(path.name)
            count += 1
    if (home / "review.json").exists():
        (home / "review.json").unlink()  # which sessions were approved and uploaded: nothing left to say
    return count, frames, size


def cmd_withdraw(args: argparse.Namespace) -> int:
    from workprint.home import workprint_home
    from workprint.privacy import consent

    home = workprint_home()
    consent.withdraw(home, args.erase)  # first: a recorder started from now on is refused
    print("workprint: consent withdrawn; nothing is recorded on this device until you agree again "
          "(`workprint consent accept`)")
    enrolled = _enrolled(home)
    remote_problem = None
    if enrolled:
        from workprint.upload.client import UploadError, load_enrolment, withdraw_at_collector

        url = load_enrolment(home)["url"]
        if args.erase:
            consent.mark_erasure_pending(home, True)
        try:
            result = withdraw_at_collector(home, args.erase)
        except UploadError as exc:
            remote_problem = str(exc)
        else:
            if args.erase:
                consent.mark_erasure_pending(home, False)
                print(f"workprint: removed at the collector {url}: {result['deleted_sessions']} session(s), "
                      f"{result['deleted_frames']} frame(s); the erasure request is in its audit log")
            else:
                print(f"workprint: the collector {url} has your withdrawal on record; it accepts no more uploads")
    stopped = _stop_recorders(home)
    if stopped:
        print(f"workprint: stopped {stopped} running recording(s)")
    if args.erase:
        sessions, frames, size = _erase_here(home)
        print(f"workprint: removed on this device: {sessions} session(s), {frames} frame(s), "
              f"{size / 1e3:,.0f} kB")
        if not enrolled:
            print("workprint: this device is not enrolled with a collector; nothing was uploaded, nothing to "
                  "remove elsewhere")
    if remote_problem:
        raise UserError(f"{remote_problem}. Your withdrawal stands on this device; run `workprint consent withdraw"
                        f"{' --erase' if args.erase else ''}` again to reach the collector")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consent", help="the recording notice; agree to it, or withdraw (and erase)",
                       description="Nothing is recorded without an agreement on record. `show` prints the notice "
                                   "(what is recorded, where it goes, who can read it, for how long), `accept` "
                                   "records your agreement, `withdraw` stops recording for good (--erase also "
                                   "deletes your sessions here and at the collector).")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the notice for a policy",
                              description="Print the notice for this policy and enrolment: what is recorded and "
                                          "never recorded, what is removed on this device, where it goes, who "
                                          "reads it, how long it is kept.",
                              epilog="example: workprint consent show --policy policy.toml --html > notice.html",
                              formatter_class=HelpFormatter)
    show.add_argument("--policy", metavar="FILE", help="the TOML policy `workprint record` will use")
    show.add_argument("--html", action="store_true", help="print the notice as an HTML page")
    show.set_defaults(func=cmd_show)
    accept = actions.add_parser("accept", help="show the notice and record your agreement",
                                description="Show the notice, ask (type yes), and record your agreement to it and "
                                            "this policy; `workprint record --policy` with the same or a narrower "
                                            "policy then records. When enrolled, the agreement is sent to the "
                                            "collector too.",
                                epilog="example: workprint consent accept --policy policy.toml",
                                formatter_class=HelpFormatter)
    accept.add_argument("--policy", metavar="FILE", help="the TOML policy `workprint record` will use")
    accept.add_argument("--yes", action="store_true", help="agree without being asked (you have read the notice)")
    accept.set_defaults(func=cmd_accept)
    withdraw = actions.add_parser("withdraw", help="stop recording for good on this device",
                                  description="Withdraw your agreement: a running recorder or agent run stops, and "
                                              "nothing is recorded until you agree again. --erase also deletes every "
                                              "session on this device and has the collector erase what you sent.",
                                  epilog="example: workprint consent withdraw --erase",
                                  formatter_class=HelpFormatter)
    withdraw.add_argument("--erase", action="store_true",
                          help="also delete every session here and everything uploaded at the collector")
    withdraw.set_defaults(func=cmd_withdraw)
