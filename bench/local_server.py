"""A minimal service on 127.0.0.1 for client benchmarks: every Save is answered 儲存成功 at once."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _save(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"msG_CODE": "Y", "msG_INFO": "儲存成功"})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving() -> Iterator[str]:
    """Serve the app in a thread; yield its base URL; stop it afterwards."""
    port = _free_port()
    app = Starlette(routes=[Route("/Save", _save, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
