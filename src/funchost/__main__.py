"""`python -m funchost start [--app-dir DIR] [--port N] [--data-dir DIR]`, like `func start`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from funchost import log_setup
from funchost.app_index import AppIndexError
from funchost.host import serve_forever
from funchost.settings import HostConfigError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m funchost", description="Embedded Azure Functions + Durable host."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve a Python v2-model function app")
    start.add_argument(
        "--app-dir", default=".", help="folder holding function_app.py and host.json"
    )
    start.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 7071))
    start.add_argument("--host", default="127.0.0.1", help="address to listen on")
    start.add_argument(
        "--data-dir", default=None, help="durable state folder (default: <app-dir>/.data)"
    )
    start.add_argument("--log-level", default=os.environ.get("FUNCHOST_LOG_LEVEL", "INFO"))
    return parser


async def _run(args: argparse.Namespace) -> int:
    app_dir = Path(args.app_dir).resolve()
    data_dir = Path(args.data_dir).resolve() if args.data_dir else app_dir / ".data"
    os.chdir(app_dir)  # the worker runs with the app root as working directory
    settings = load_settings(app_dir, data_dir, args.port, args.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await serve_forever(settings, stop)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    writer = log_setup.configure(args.log_level)
    try:
        return asyncio.run(_run(args))
    except (AppIndexError, HostConfigError) as exc:
        print(f"funchost: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"funchost: cannot start: {exc}", file=sys.stderr)
        return 2
    finally:
        writer.stop()


if __name__ == "__main__":
    sys.exit(main())
