"""Profile every tracked wallet, then decay and the watchlist rule.

    python jobs/profile_wallets.py [--sim-clock | --data-clock | --now ISO]
        [--helius-rps N] [--dex-rps N]

One slice of the research chain (walltrack/intel/research.py, RESEARCH_JOBS): the scheduler
runs the slices in order, and the evaluation calls this same entry point.
"""

from __future__ import annotations

from walltrack.jobrunner import research_job_main


def main(argv: list[str] | None = None) -> int:
    return research_job_main("profile_wallets", argv)


if __name__ == "__main__":
    raise SystemExit(main())
