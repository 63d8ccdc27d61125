"""A stand-in for the HPA service as an ASP.NET application behind IIS may really answer: a raw
HTTP/1.1 server on 127.0.0.1, written on sockets so that it can misbehave at the byte level.

The first path segment picks a behaviour; the rest is the service (`/{mode}/api/{Operation}`):

    plain        answers as the serializer writes (`msG_CODE`, `tokenid`), keep-alive, Content-Length
    gzip         the same, gzip-compressed;  deflate: raw deflate, as IIS sends it
    chunked      Transfer-Encoding: chunked, a few bytes a chunk
    idleclose    closes each connection right after answering, without saying so (an idle timeout)
    close        `Connection: close` on every answer
    charset      UTF-8 bodies under a header that names Big5
    bare         GetTokenID answers the token alone as text;  barejson: as a JSON string
    html         ASP.NET/IIS error pages (404 for GetTokenID, 500 otherwise) quoting the request,
                 its query URL-encoded once and twice and its body with HTML entities
    redirect     302 to a login page whose `Location` holds the request's query, secrets and all,
                 plain and URL-encoded (`ReturnUrl=`), with IIS's "Object moved" page
    busy         `state.busy_status` (503) with `Retry-After: {state.retry_after}` for the first
                 `state.busy` requests (429 to GetTokenID)
    trickle      headers, then the body one byte at a time, never finished
    slowheaders  the status line and headers one byte at a time, never finished
    huge         a 50 MB body, sent until the client goes away
    bomb         64 KiB of gzip that inflates to 64 MiB
    dropdelete   the first Delete of a visit is done, then the connection closes without an answer
    scripted     answers `state.script` (status, headers, body) to every request

The service's logic is the manual's: tokens from GetTokenID, GetSCDataB's texts (`UNDER_18_ID` is
refused with the service's words for a patient under 18), Save/Update/Delete with MSG_CODE Y or N.

Given a server TLS context, the stand-in speaks HTTPS, as the real service does.
"""

from __future__ import annotations

import functools
import gzip
import html
import json
import secrets
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import scforhis

ACCOUNT = "3501200000ADM"
PASSWORD = "Tw-pa55:word&x=1"
UNDER_18_ID = "A123456789"
ELIGIBLE = "戒菸治療可收案！！可登錄就醫資料。"
RESERVED = "戒菸治療可收案！！可登錄就醫資料。預留收案成功"
UNDER_18 = "個案未滿18歲，非本計畫可收案對象"
KEY_FIELDS = ("hosp_id", "hosp_seq_no", "id", "func_date", "cure_type")
_IIS = [("Server", "Microsoft-IIS/10.0"), ("X-Powered-By", "ASP.NET")]
_TRICKLE_PAUSE = 0.02


@dataclass
class State:
    """What the service remembers; tests may look at it and change it."""

    tokens: list[str] = field(default_factory=list)
    records: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    dropped: set[tuple[str, ...]] = field(default_factory=set)
    busy: int = 1
    busy_status: int = 503
    retry_after: str = "1"
    script: tuple[int, list[tuple[str, str]], bytes] = (200, [], b"")
    connections: int = 0
    # Connections that ended (the client closed them, or the stand-in did).
    closed: int = 0
    # Every request line as it came: (method, target).
    lines: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Request:
    """A request as read off the socket."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def mode(self) -> str:
        return urlsplit(self.target).path.strip("/").split("/")[0]

    @property
    def operation(self) -> str:
        return urlsplit(self.target).path.rsplit("/", 1)[-1]

    @property
    def params(self) -> dict[str, str]:
        return {k.lower(): v for k, v in parse_qsl(urlsplit(self.target).query)}

    def json(self) -> dict[str, str]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return {str(k).lower(): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class _Gone(Exception):
    """The client went away."""


class IisService:
    """The stand-in on a free port of 127.0.0.1, one thread per connection."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.state = State()
        self._tls = tls
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="iis-stand-in", daemon=True)

    @functools.cached_property
    def _bomb(self) -> bytes:
        """64 MiB of zeros, gzip-compressed a piece at a time (never held whole); made when first
        asked for, as it takes a while."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(1024 * 1024)
        return b"".join(compressor.compress(zeros) for _ in range(64)) + compressor.flush()

    def start(self) -> IisService:
        """Start accepting connections."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting; connection threads end when their clients go away."""
        self._stopped.set()
        self._listener.close()

    def url(self, mode: str = "plain") -> str:
        """The base URL of one behaviour."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{mode}/api"

    def client_options(self, mode: str, **overrides: Any) -> dict[str, Any]:
        """Keyword settings of `scforhis.Client` for one behaviour: its account, no environment,
        one quick retry; `overrides` replace any of them."""
        values: dict[str, Any] = {
            "base_url": self.url(mode),
            "account": ACCOUNT,
            "password": PASSWORD,
            "hosp_id": "3501200000",
            "hosp_seq_no": "00",
            "timeout": 5.0,
            "retry": scforhis.RetryPolicy(retries=1, backoff=0.0),
            "env": {},
        }
        values.update(overrides)
        return values

    # -- the connection ------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.state.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        buffer = b""
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            while True:
                request, buffer = _read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    self.state.requests.append((request.mode, request.operation))
                if not self._answer(conn, request):
                    return
        except (OSError, _Gone):
            return
        finally:
            conn.close()
            with self._lock:
                self.state.closed += 1

    def _answer(self, conn: socket.socket, request: Request) -> bool:
        """Answer one request; False to close the connection."""
        mode = request.mode
        with self._lock:
            self.state.lines.append((request.method, request.target))
        if request.method == "CONNECT":  # asked to be a proxy: refuse, and say nothing more
            _send(conn, 403, [("Content-Type", "text/plain")], b"Forbidden")
            return False
        if mode == "scripted":
            status, headers, body = self.state.script
            _send(conn, status, headers, body)
            return True
        if mode == "slowheaders":
            _trickle(conn, b"HTTP/1.1 200 OK\r\n")
            while True:  # header lines, one byte at a time, until the client goes away
                _trickle(conn, b"X-Pad: 1\r\n")
        if mode == "busy":
            with self._lock:
                busy = self.state.busy > 0
                self.state.busy -= 1
            if busy:
                status = 429 if request.operation == "GetTokenID" else self.state.busy_status
                headers = [("Retry-After", self.state.retry_after), ("Content-Type", "text/html")]
                _send(conn, status, headers, b"<html><body>Service Unavailable</body></html>")
                return True
        if mode == "redirect":
            return self._redirect(conn, request)
        if mode == "html" and (request.operation != "GetSCDataB" or request.method != "GET"):
            return self._error_page(conn, request)
        if mode == "trickle":
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
            conn.sendall(head.encode())
            _trickle(conn, b"x" * 100000)
            return False
        if mode == "huge":
            return self._huge(conn)
        if mode == "bomb":
            headers = [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")]
            _send(conn, 200, headers, self._bomb)
            return True
        if mode == "dropdelete" and request.operation == "Delete":
            key = self._key(request.json())
            if key in self.state.records and key not in self.state.dropped:
                with self._lock:
                    self.state.dropped.add(key)
                    del self.state.records[key]
                return False  # done, and no answer
        status, content_type, body = self._service(request)
        return self._reply(conn, mode, status, content_type, body)

    # -- the service ------------------------------------------------------------------------

    def _key(self, body: dict[str, str]) -> tuple[str, ...]:
        return tuple(body.get(name, "") for name in KEY_FIELDS)

    def _service(self, request: Request) -> tuple[int, str, str]:
        """What the service itself answers: status, content type, text."""
        json_type = "application/json; charset=utf-8"

        def outcome(code: str, info: str) -> tuple[int, str, str]:
            return (
                200,
                json_type,
                json.dumps({"msG_CODE": code, "msG_INFO": info}, ensure_ascii=False),
            )

        operation, mode = request.operation, request.mode
        if operation == "GetTokenID":
            params = request.params
            if (params.get("id"), params.get("pwd")) != (ACCOUNT, PASSWORD):
                return outcome("N", "帳號或密碼錯誤")
            token = secrets.token_urlsafe(30) + "1aA="
            with self._lock:
                self.state.tokens.append(token)
            if mode == "bare":
                return 200, "text/plain; charset=utf-8", token
            if mode == "barejson":
                return 200, json_type, json.dumps(token)
            reply = {"msG_CODE": "Y", "msG_INFO": "登入成功", "tokenid": token}
            return 200, json_type, json.dumps(reply, ensure_ascii=False)
        if operation == "GetSCDataB":
            params = request.params
            if params.get("token") not in self.state.tokens:
                text = "TokenID 已失效，請重新取得"
            elif params.get("id") == UNDER_18_ID:
                text = UNDER_18
            elif params.get("isbooking", "").lower() == "true":
                text = RESERVED
            else:
                text = ELIGIBLE
            return 200, "text/plain; charset=utf-8", text
        body = request.json()
        if (body.get("account"), body.get("password")) != (ACCOUNT, PASSWORD):
            return outcome("N", "帳號或密碼錯誤")
        key = self._key(body)
        with self._lock:
            if operation == "Save":
                if key in self.state.records:
                    return outcome("N", "此筆就醫資料已存在")
                self.state.records[key] = body
                return outcome("Y", "儲存成功")
            if key not in self.state.records:
                return outcome("N", "查無此筆就醫資料")
            if operation == "Update":
                self.state.records[key] = body
                return outcome("Y", "更新成功")
            del self.state.records[key]
            return outcome("Y", "刪除成功")

    # -- how it is sent ---------------------------------------------------------------------

    def _reply(
        self, conn: socket.socket, mode: str, status: int, content_type: str, text: str
    ) -> bool:
        body = text.encode("utf-8")
        headers = [("Content-Type", content_type), ("Cache-Control", "private")]
        if mode == "charset":
            headers[0] = ("Content-Type", content_type.split(";")[0] + "; charset=big5")
        if mode == "gzip":
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        if mode == "deflate":
            compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            body = compressor.compress(body) + compressor.flush()
            headers.append(("Content-Encoding", "deflate"))
        if mode == "close":
            headers.append(("Connection", "close"))
        _send(conn, status, headers, body, chunked=mode == "chunked")
        return mode not in ("close", "idleclose")

    def _error_page(self, conn: socket.socket, request: Request) -> bool:
        query = urlsplit(request.target).query
        shown = html.escape(request.body.decode("utf-8", "replace"))
        page = (
            "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
            "<h1>Server Error in '/ScForHisWebApi' Application.</h1>"
            f"<p>Request URL: {html.escape(request.target)}</p>"
            f"<p>Raw: {quote(query, safe='')}</p><p>Twice: {quote(quote(query, safe=''), safe='')}</p>"
            f"<p>Form: {shown}</p>"
            f"<pre>{quote(request.body.decode('utf-8', 'replace'), safe='')}</pre>"
            "<hr>Version Information: Microsoft .NET Framework Version:4.0.30319; ASP.NET Version:4.8"
            "</body></html>"
        )
        status = 404 if request.operation == "GetTokenID" else 500
        _send(conn, status, [("Content-Type", "text/html; charset=utf-8")], page.encode())
        return True

    def _redirect(self, conn: socket.socket, request: Request) -> bool:
        return_url = quote(request.target, safe="")
        location = f"https://login.example.test/Account/Login?{urlsplit(request.target).query}&ReturnUrl={return_url}"
        page = f'<html><head><title>Object moved</title></head><body><h2>Object moved to <a href="{html.escape(location)}">here</a>.</h2></body></html>'
        headers = [("Location", location), ("Content-Type", "text/html; charset=utf-8")]
        _send(conn, 302, headers, page.encode())
        return True

    def _huge(self, conn: socket.socket) -> bool:
        size = 50 * 1024 * 1024
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        conn.sendall(head.encode() + b'{"msG_CODE":"Y","msG_INFO":"')
        piece = b"a" * 65536
        sent = 0
        while sent < size:
            conn.sendall(piece)
            sent += len(piece)
        return False


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buffer += data
    return Request(method, target, headers, buffer[:length]), buffer[length:]


def _send(
    conn: socket.socket,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    chunked: bool = False,
) -> None:
    reason = {
        200: "OK",
        302: "Found",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in [*_IIS, *headers])]
    lines.append(f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        pieces = [body[i : i + 3] for i in range(0, len(body), 3)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


def _trickle(conn: socket.socket, data: bytes) -> None:
    for index in range(len(data)):
        conn.sendall(data[index : index + 1])
        time.sleep(_TRICKLE_PAUSE)
