"""Shadow outcomes: what each signal's token did 5 min, 1 h and 6 h later (from prices).

    python jobs/shadow_outcomes.py [--sim-clock | --now ISO] [--jup-rps N] [--dex-rps N]

Schedules the missing (signal, horizon) rows, then measures the due ones with Jupiter's
prices (DexScreener as the fallback): walltrack/live/outcomes.py. The scheduler runs it
every ``jobs.shadow_outcomes`` minutes; ``python -m walltrack calibration`` reads the result.
"""

from __future__ import annotations

from walltrack.live.outcomes_job import shadow_outcomes_main


def main(argv: list[str] | None = None) -> int:
    return shadow_outcomes_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
