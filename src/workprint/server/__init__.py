"""The collector service (`workprint serve`): FastAPI on uvicorn, storage behind interfaces."""

from workprint.server.app import create_app

__all__ = ["create_app"]
