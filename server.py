"""Start the WallTrack server (webhooks, JSON API, live loop) under uvicorn.

    python server.py [--host H] [--port P]   # defaults: WALLTRACK_SERVER_HOST / _PORT
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from walltrack.app.auth import check_bind
from walltrack.app.factory import create_app
from walltrack.errors import WallTrackError
from walltrack.logging import configure_from_settings
from walltrack.settings import load_settings
from walltrack.store import open_database


def main() -> int:
    parser = argparse.ArgumentParser(description="WallTrack server")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    try:
        settings = load_settings()
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_from_settings(settings)
    host = args.host or settings.server_host
    try:
        check_bind(settings, host)
        app = create_app(settings, lambda: open_database(settings))
    except WallTrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=host,
                port=args.port or settings.server_port, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
