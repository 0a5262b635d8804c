"""The collector's routes by group (devices, uploads, sessions, governance; consent lives in
``server/consent.py``), each an ``add_routes(app, ctx)`` that reads as a list of catalog steps."""
