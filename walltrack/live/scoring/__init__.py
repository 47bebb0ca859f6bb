"""Live signal scoring: four factors in [0, 1], a weighted sum, and one decision with its reason.

One module per factor (``wallet``, ``cluster``, ``token``, ``context``), each a pure function
of typed inputs returning a :class:`FactorResult` (value + the inputs it read); the decision
rules (``decision.py``) run in a fixed order; ``scorer.py`` gathers the inputs and calls them.
The formulas are written out in docs/live.md with a worked example.
"""
