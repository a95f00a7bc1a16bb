"""A claims config of two cells, ``a`` (as configured) and ``b`` (equal MEI), for tests."""

from __future__ import annotations

from typing import Any

from components.ablation.claims import ClaimsConfig, parse_claims


def two_cell_config(**claim: Any) -> ClaimsConfig:
    """One claim ``c``, "a's motion top-1 > b's", with ``claim``'s keys replacing its own."""
    body = {"name": "c", "claim": "a beats b", "left": "a/motion.top1", "op": ">",
            "right": ["b/motion.top1"], **claim}
    return parse_claims({"cells": {"a": {"set": {}}, "b": {"set": {"represent.mei.method":
                                                                   "equal"}}},
                         "claims": [body]})
