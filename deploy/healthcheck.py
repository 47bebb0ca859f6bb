"""Container health probe: exit 0 when this host's ``GET /health`` answers 200 and not ok=false.

Standard library only (no curl in the slim image, and no walltrack import: a probe every
30 s should cost milliseconds). The port is the server's, ``WALLTRACK_SERVER_PORT`` (8000).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("WALLTRACK_SERVER_PORT", "8000")
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:  # 503: the store or a child is down
        print(f"unhealthy: {url} answered {exc.code}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # refused, timed out, or not JSON
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if isinstance(body, dict) and body.get("ok") is False:
        print(f"unhealthy: {url} answered ok=false", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
