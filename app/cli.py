"""The ``gatescope`` command."""

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence

from app import __version__

RATE_LIMIT_STATE_ENV = "GATESCOPE_RATE_LIMIT_STATE_FILE"
WATCHED = ["*.py", "*.js", "*.css", "*.html", "*.json"]  # what --reload restarts on


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import get_settings, settings_problems
    from app.http.observability import log_config, prepare_metrics_dir, remove_metrics_dir
    from app.paths import APP_DIR, STATIC_DIR, TEMPLATES_DIR

    error, warnings = settings_problems()
    for warning in warnings:
        print(f"gatescope: warning: {warning}", file=sys.stderr)
    if error:
        print(f"gatescope: {error}", file=sys.stderr)
        return 2
    settings = get_settings()
    workers = 1 if args.reload else (args.workers or settings.workers)
    metrics_dir = prepare_metrics_dir(workers)  # before the workers start
    shared_dir = None
    if settings.rate_limit_enabled and workers > 1 and settings.rate_limit_state_file is None:
        # one bucket store for every worker (app/http/ratelimit.py), found through the environment
        shared_dir = tempfile.mkdtemp(prefix="gatescope-ratelimit-")
        os.environ[RATE_LIMIT_STATE_ENV] = os.path.join(shared_dir, "buckets.sqlite3")
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=None if args.reload else workers,
            reload=args.reload,
            # a changed page or static file changes the pages' asset version (app/web/assets.py)
            reload_dirs=[str(d) for d in (APP_DIR, STATIC_DIR, TEMPLATES_DIR)]
            if args.reload
            else None,
            reload_includes=WATCHED if args.reload else None,
            log_config=log_config(settings.log_level, settings.log_format),
            log_level=settings.log_level,
            access_log=False,  # app.http.observability writes them, with the request id
            root_path=settings.root_path,  # the prefix a proxy strips; see README "Deploy"
            timeout_graceful_shutdown=settings.shutdown_timeout_s,
        )
    finally:
        remove_metrics_dir(metrics_dir)
        if shared_dir:
            shutil.rmtree(shared_dir, ignore_errors=True)
            os.environ.pop(RATE_LIMIT_STATE_ENV, None)
    return 0


def _version(_: argparse.Namespace) -> int:
    print(__version__)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatescope", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web service")
    serve.add_argument("--host", help="address to bind (default: GATESCOPE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: GATESCOPE_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: 1)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.set_defaults(func=_serve)

    ver = sub.add_parser("version", help="print the version")
    ver.set_defaults(func=_version)

    from app.training.cli import add_train_parser

    add_train_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
