"""Exit strategies: one module per rule kind behind one interface (``base``), combined by
``strategy`` in a fixed, documented order (docs/exits.md). Pure code: no store, no I/O."""

from walltrack.trading.exits.base import (
    EVALUATION_ORDER,
    ExitAction,
    ExitKind,
    ExitRule,
    ExitState,
    PositionView,
    RuleConfig,
    StateUpdate,
)
from walltrack.trading.exits.break_even import BreakEven
from walltrack.trading.exits.mirror_exit import MirrorExit
from walltrack.trading.exits.moonbag import Moonbag
from walltrack.trading.exits.stop_loss import StopLoss
from walltrack.trading.exits.strategy import (
    DEFAULT_MAX_PRICE_AGE_SECONDS,
    DEFAULT_STRATEGY,
    NAMED_STRATEGIES,
    ExitOutcome,
    ExitStrategy,
    OutcomeStatus,
    evaluate,
    named_strategy,
    plan_of,
    resolve_strategy,
    strategy_from_plan,
)
from walltrack.trading.exits.take_profit_ladder import LadderStep, TakeProfitLadder
from walltrack.trading.exits.time_stop import TimeStop
from walltrack.trading.exits.trailing_stop import TrailingStop

__all__ = [
    "DEFAULT_MAX_PRICE_AGE_SECONDS",
    "DEFAULT_STRATEGY",
    "EVALUATION_ORDER",
    "NAMED_STRATEGIES",
    "BreakEven",
    "ExitAction",
    "ExitKind",
    "ExitOutcome",
    "ExitRule",
    "ExitState",
    "ExitStrategy",
    "LadderStep",
    "MirrorExit",
    "Moonbag",
    "OutcomeStatus",
    "PositionView",
    "RuleConfig",
    "StateUpdate",
    "StopLoss",
    "TakeProfitLadder",
    "TimeStop",
    "TrailingStop",
    "evaluate",
    "named_strategy",
    "plan_of",
    "resolve_strategy",
    "strategy_from_plan",
]
