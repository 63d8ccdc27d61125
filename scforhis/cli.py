"""The `scforhis` command line.

    scforhis validate --op Save FILE... [--format text|json|jsonl] [--lang zh-TW|en] [--encoding E]
    scforhis upload --op Save FILE [--journal PATH] [--dry-run]
    scforhis sandbox [--host 127.0.0.1] [--port 8000] [--db PATH] [--config PATH]
                     [--token-minutes N] [--latency-ms N] [--error-rate P] [--drop-rate P]
                     [--fault-seed N]

Each subcommand is a `Subcommand` in `SUBCOMMANDS`: its name, a one-line help, a function that
adds its arguments and a function that runs it and returns the exit status. A subcommand imports
what it needs when it runs, so that `scforhis` works without the optional extras of the others.
Bad usage exits with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

DEFAULT_DB = Path("scforhis-sandbox.db")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (subcommand parsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


@dataclass(frozen=True)
class Subcommand:
    """One `scforhis <name>` subcommand."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _share(text: str) -> float:
    """An argparse type: a share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1: {text!r}")
    return value


def _non_negative(text: str) -> float:
    """An argparse type: a number of zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _positive(text: str) -> float:
    """An argparse type: a number above zero."""
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return value


def _port(text: str) -> int:
    """An argparse type: a TCP port (0 picks a free one)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", metavar="ADDRESS", help="address to listen on (127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=8000, metavar="N", help="port to listen on (8000)"
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite file holding the state ({DEFAULT_DB})",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML (or .json) file: accounts, token lifetime, limits, faults; "
        "without it, the manual's demo account",
    )
    parser.add_argument(
        "--token-minutes", type=_positive, metavar="MIN", help="how long a TokenID stays valid (20)"
    )
    parser.add_argument(
        "--lang", choices=("zh-TW", "en"), default="zh-TW", help="language of what it prints"
    )
    faults = parser.add_argument_group("fault injection (for client tests; off by default)")
    faults.add_argument(
        "--latency-ms", type=_non_negative, metavar="MS", help="delay added to every answer"
    )
    faults.add_argument(
        "--error-rate",
        type=_share,
        metavar="P",
        help="share of requests answered HTTP 503 (0 to 1)",
    )
    faults.add_argument(
        "--drop-rate",
        type=_share,
        metavar="P",
        help="share of stored Saves whose connection is dropped before the answer (0 to 1)",
    )
    faults.add_argument(
        "--fault-seed", type=int, metavar="N", help="seed that makes the shares repeatable"
    )


def run_sandbox(arguments: argparse.Namespace) -> int:
    """`scforhis sandbox`: serve the sandbox until interrupted."""
    try:
        from scforhis.sandbox.app import SandboxApp, serve
        from scforhis.sandbox.settings import SandboxConfigError, load_config
    except ImportError as error:
        print(
            f"scforhis sandbox: 需要 sandbox 套件 / needs the sandbox extra "
            f"(pip install 'scforhis[sandbox]'): {error}",
            file=sys.stderr,
        )
        return 1
    try:
        config = load_config(arguments.config)
    except SandboxConfigError as error:
        print(f"scforhis sandbox: {error}", file=sys.stderr)
        return 2
    if arguments.token_minutes is not None:
        config = replace(config, token_minutes=arguments.token_minutes)
    config = config.with_faults(
        latency=arguments.latency_ms / 1000 if arguments.latency_ms is not None else None,
        error_rate=arguments.error_rate,
        drop_rate=arguments.drop_rate,
        seed=arguments.fault_seed,
    )
    refusal = _cannot_listen(arguments.host, arguments.port)
    if refusal is not None:
        print(
            f"scforhis sandbox: 無法在 {arguments.host}:{arguments.port} 上接聽 / cannot listen on "
            f"{arguments.host}:{arguments.port}: {refusal} (--port N picks another port)",
            file=sys.stderr,
        )
        return 2
    import logging  # here: the batch commands start faster without it
    import sqlite3

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        sandbox = SandboxApp(config, arguments.db)
    except (sqlite3.Error, OSError) as error:
        print(
            f"scforhis sandbox: 無法開啟資料庫 / cannot open {arguments.db}: {error}",
            file=sys.stderr,
        )
        return 2
    accounts = ", ".join(f"{a.hosp_id} ({'/'.join(a.branches)})" for a in config.accounts)
    url = f"http://{arguments.host}:{arguments.port}"
    if arguments.lang == "en":
        source = arguments.config or "the manual's demo account"
        banner = (
            f"scforhis sandbox: {url} db={arguments.db} accounts from {source}: institutions "
            f"{accounts}; token {config.token_minutes:g} min; faults {config.faults.describe()}; "
            "Ctrl+C stops it"
        )
    else:
        source = arguments.config or "手冊的示範帳號"
        banner = (
            f"scforhis 沙盒：{url} 資料庫 {arguments.db}，帳號來自 {source}：醫事機構 {accounts}；"
            f"TokenID 有效 {config.token_minutes:g} 分鐘；故障模擬 {config.faults.describe()}；"
            "按 Ctrl+C 停止"
        )
    print(banner, flush=True)
    # Ctrl+C is how a sandbox is meant to stop; uvicorn has shut down cleanly when it re-raises it.
    with contextlib.suppress(KeyboardInterrupt):
        serve(sandbox, arguments.host, arguments.port)
    return 0


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the sandbox could not listen on `host`:`port` (in use, no such address), or None.

    Tried before the banner, so that a port in use is one line and status 2, not a "serving"
    banner followed by the server's own error lines.
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return str(error)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As the server will: an address still in TIME_WAIT is usable, one in use is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error.strerror or str(error)
    return None


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    from scforhis.batch.commands import configure_validate

    configure_validate(parser)


def _upload_arguments(parser: argparse.ArgumentParser) -> None:
    from scforhis.batch.commands import configure_upload

    configure_upload(parser)


def run_validate(arguments: argparse.Namespace) -> int:
    """`scforhis validate` (see cli_batch)."""
    from scforhis.batch.commands import run_validate as run

    return run(arguments)


def run_upload(arguments: argparse.Namespace) -> int:
    """`scforhis upload` (see cli_batch)."""
    from scforhis.batch.commands import run_upload as run

    return run(arguments)


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "validate",
        "檢查匯出檔 validate records from JSON, JSON Lines or CSV files",
        _validate_arguments,
        run_validate,
    ),
    Subcommand(
        "upload",
        "上傳 send the valid records once each, resumable through a journal",
        _upload_arguments,
        run_upload,
    ),
    Subcommand(
        "sandbox",
        "run a local stand-in of the service (SQLite state, the manual's messages)",
        _sandbox_arguments,
        run_sandbox,
    ),
]


def version() -> str:
    """The installed package's version and the manual it follows."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        number = installed("scforhis")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown"
    from scforhis._generated.operations import MANUAL_VERSION

    return f"scforhis {number} (ScForHisWebApi manual {MANUAL_VERSION})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of `SUBCOMMANDS`."""
    parser = _Parser(prog="scforhis", description="ScForHisWebApi (醫事機構戒菸服務系統) tools.")
    parser.add_argument("--version", action="version", version=version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in SUBCOMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def _tolerant_streams() -> None:
    """Let standard output and error replace what their encoding cannot write (a cp950
    console meets a character outside Big5) instead of failing in the middle of a report."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    _tolerant_streams()
    arguments = build_parser().parse_args(argv)
    try:
        status: int = arguments.run(arguments)
    except KeyboardInterrupt:
        return 130
    return status
