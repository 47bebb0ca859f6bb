"""What copying would have made: the figures of a replayed period (issue 13, in progress)."""
