"""Selection writes: rounds and evaluations (rounds.py), offers from 内定 to 承諾 or 辞退 (offers.py)."""

from selection.services.rounds import (
    criterion_add,
    criterion_delete,
    evaluation_save,
    round_create,
    round_delete,
    round_move,
)

__all__ = [
    "criterion_add",
    "criterion_delete",
    "evaluation_save",
    "round_create",
    "round_delete",
    "round_move",
]
