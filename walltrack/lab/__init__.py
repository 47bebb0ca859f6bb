"""The lab: WallTrack measured against the simulator's truth.

Replays of the scheduler on a simulated market, the accuracy metrics and the README's main
command. It imports the simulator; production code (everything outside ``walltrack.lab``
and ``walltrack.simulator``) never imports either.
"""
