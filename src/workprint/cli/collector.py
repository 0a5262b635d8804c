"""`workprint serve`, `audit`, `enrol`, `review`, `upload` and `extension`: the collector and the way to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workprint.cli.common import HelpFormatter, UserError, home as _home

def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from workprint.server import create_app

    from workprint.server.blobs import BlobURLError
    from workprint.server.catalog import CatalogURLError

    data = Path(args.data)
    try:
        app = create_app(data, args.catalog, args.blobs)
    except (CatalogURLError, BlobURLError, ConnectionError) as exc:
        raise UserError(str(exc)) from None
    where = f"catalog {app.state.catalog.url.split('@')[-1]}, blobs {app.state.blobs.url}"
    print(f"workprint collector on http{'s' if args.tls_cert else ''}://{args.host}:{args.port} "
          f"({where}; secrets in {data}; the first admin token is in {data / 'admin.token'})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from workprint.server.catalog import CatalogURLError, Entry, catalog_kind, open_catalog

    data = Path(args.data)
    key = data / "audit.key"
    try:
        kind = catalog_kind(args.catalog)
    except CatalogURLError as exc:
        raise UserError(str(exc)) from None
    path = data / "catalog.sqlite" if not args.catalog else None
    if kind == "sqlite" and path is not None and not path.exists():
        raise UserError(f"no collector catalog at {path}; give the --data folder of `workprint serve` "
                        "(and its --catalog URL if it runs on PostgreSQL)")
    if not key.exists():
        raise UserError(f"no audit key at {key}: if this collector last ran a version without a keyed audit log, "
                        f"start `workprint serve --data {data}` once; otherwise restore the folder from a backup")
    try:
        catalog = open_catalog(data, args.catalog, audit_key=key.read_text().strip())
    except ConnectionError as exc:
        raise UserError(str(exc)) from None
    intact, count, problem = catalog.verify_audit()
    # the verification is itself an audited event
    catalog.audit(Entry("operator", "local", "verify audit log", "audit",
                        f"intact ({count} entries)" if intact else f"BROKEN: {problem}"))
    if intact:
        print(f"workprint: audit log intact ({count} entries; keyed chain, no gaps, anchor matches)")
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
    print("workprint: nothing is uploaded until you agree to send to this collector: read "
          "`workprint consent show` and agree with `workprint consent accept`")
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
    import threading
    import time

    import uvicorn

    from workprint.upload.client import review_state
    from workprint.upload.review import browser_entry, create_review_app

    review_state(home)  # a damaged review.json is said here, before a page is opened
    app, token = create_review_app(home)
    url = f"http://127.0.0.1:{args.port}/{token}/"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning"))

    def open_browser() -> None:
        # Only once the page answers (a BROWSER command may wait for the browser to exit), and
        # through a private file: the secret would be readable by every local user on a command line.
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            import webbrowser

            webbrowser.open(browser_entry(home, url).as_uri())

    print(f"workprint review: {url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        threading.Thread(target=open_browser, daemon=True).start()
    try:
        server.run()
    finally:
        (home / "review.html").unlink(missing_ok=True)  # it holds the page's secret address
    if not server.started:
        raise UserError(f"the review page could not listen on 127.0.0.1:{args.port}; choose another with --port")
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from workprint.upload.client import UploadError, upload

    try:
        done = upload(_home(), args.sessions, progress=lambda m: print(f"workprint: {m}", file=sys.stderr))
    except UploadError as exc:
        raise UserError(str(exc)) from None
    if done:
        print(f"workprint: uploaded {len(done)} session(s): {' '.join(done)}")
    else:
        print("workprint: uploaded 0 session(s): nothing was due. A session goes once you approve it "
              "(`workprint review`), or 24 hours after recording if you leave it unreviewed; one already "
              "sent is sent again only if it changed")
    return 0


def cmd_extension(args: argparse.Namespace) -> int:
    from workprint.capture.browser import extension_dir, install

    if args.what == "path":
        print(extension_dir(_home()))
        return 0
    dirs = [Path(d) for d in args.browser_dir] if args.browser_dir else None
    extension, manifests = install(_home(), dirs)
    for manifest in manifests:
        print(f"workprint: native messaging host registered in {manifest}", file=sys.stderr)
    print("workprint: load the extension from this folder (chrome://extensions, developer mode, Load unpacked, "
          "or --load-extension=FOLDER):", file=sys.stderr)
    print(extension)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the collector service",
                       description="Run the collector that enrolled devices upload to (FastAPI + uvicorn). On "
                                   "first start it writes the first admin token to DATA/admin.token; enrolment "
                                   "codes come from POST /v1/enrolment-codes with that token. Several `serve` "
                                   "processes given the same --data, --catalog and --blobs are one collector.",
                       epilog="examples:\n"
                              "  workprint serve --data collector-data\n"
                              "  workprint serve --port 8001 --data /var/lib/workprint \\\n"
                              "    --catalog postgresql://workprint@db:5432/workprint \\\n"
                              "    --blobs 's3://workprint-frames/frames?endpoint=http://s3:8333'",
                       formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--data", default="collector-data",
                   help="the collector's secrets, and its catalog and blobs unless --catalog/--blobs say otherwise "
                        "(default: ./collector-data); replicas share it")
    p.add_argument("--catalog", metavar="URL",
                   help="sqlite:///PATH (default DIR/catalog.sqlite) or postgresql://USER@HOST:PORT/DB")
    p.add_argument("--blobs", metavar="URL", help="file:///PATH (default DIR/blobs) or "
                   "s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT (credentials from AWS_ACCESS_KEY_ID / "
                   "AWS_SECRET_ACCESS_KEY)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("audit", help="verify the collector's audit log (keyed chain, no gaps, anchor)",
                       description="`audit verify` checks the collector's audit log: every entry's keyed MAC, "
                                   "sequence numbers without gaps, and every head anchored in DATA/audit.anchor "
                                   "still there. Exit 0 when it holds; 1 and the first problem otherwise.",
                       epilog="example: workprint audit verify --data collector-data",
                       formatter_class=HelpFormatter)
    p.add_argument("what", choices=["verify"], help="verify: check the log")
    p.add_argument("--data", default="collector-data", help="the collector's data folder (its audit key and anchor)")
    p.add_argument("--catalog", metavar="URL", help="the catalog URL `workprint serve` was given, if any")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("enrol", help="enrol this device with a collector, using a code from an admin",
                       description="Enrol this device with a collector: the one-time code is exchanged for a "
                                   "device token, stored sealed in WORKPRINT_HOME. Then run `workprint consent "
                                   "accept` (the notice now names the collector) before `workprint upload`.",
                       epilog="example: workprint enrol https://collector.example.com:8443 K7QX-9MPR-2DWF",
                       formatter_class=HelpFormatter)
    p.add_argument("url", help="the collector's address, e.g. https://collector.example.com:8443")
    p.add_argument("code", help="the one-time code an admin gave you, e.g. K7QX-9MPR-2DWF")
    p.set_defaults(func=cmd_enrol)

    p = sub.add_parser("review", help="look at sessions before upload: approve, delete, delete a time range",
                       description="Opens a local page listing sessions not uploaded yet; each plays like the "
                                   "replay report and can be approved for upload, deleted, or cut (a time range "
                                   "removed from the store). --approve SESSION approves without the page.")
    p.add_argument("--approve", metavar="SESSION", help="approve one session for upload and exit")
    p.add_argument("--port", type=int, default=8766, help="local port of the page (default 8766)")
    p.add_argument("--no-browser", action="store_true", help="print the page's address, do not open a browser")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("upload", help="upload reviewed sessions (redacted) to the enrolled collector",
                       description="Send finished sessions to the collector this device is enrolled with: those "
                                   "approved in `workprint review`, and those left unreviewed for 24 hours (as the "
                                   "consent notice says). Only redacted actions and OCR-redacted frames are sent, "
                                   "content-addressed, so a cut upload resumes where it stopped and nothing is "
                                   "sent twice. A session named here must be approved first.",
                       epilog="example: workprint review --approve latest && workprint upload",
                       formatter_class=HelpFormatter)
    p.add_argument("sessions", nargs="*", metavar="SESSION",
                   help="session ids or `latest` (default: every one that is due)")
    p.set_defaults(func=cmd_upload)

    p = sub.add_parser("extension", help="the browser extension: `workprint extension install` sets it up",
                       description="install: writes the unpacked Manifest V3 extension and registers its native "
                                   "messaging host for this person (Chromium and Chrome; --browser-dir for a browser "
                                   "started with --user-data-dir=DIR), then prints the extension's folder. Load it in "
                                   "chrome://extensions (developer mode, Load unpacked) or with --load-extension=FOLDER. "
                                   "path: prints the folder only.")
    p.add_argument("what", choices=["install", "path"], help="install: set up and print the folder; path: print it")
    p.add_argument("--browser-dir", action="append", metavar="DIR",
                   help="a browser's user data dir to register the host in (repeatable; default: "
                        "~/.config/chromium and ~/.config/google-chrome)")
    p.set_defaults(func=cmd_extension)
