"""A minimal service on 127.0.0.1 for client benchmarks: every Save is answered 儲存成功 at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scforhis.sandbox.app import ServerThread


async def _save(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"msG_CODE": "Y", "msG_INFO": "儲存成功"})


@contextmanager
def serving() -> Iterator[str]:
    """Serve the app in a thread; yield its base URL; stop it afterwards."""
    app = Starlette(routes=[Route("/Save", _save, methods=["POST"])])
    with ServerThread(app) as server:
        yield server.url
