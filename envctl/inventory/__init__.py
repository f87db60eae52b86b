"""The read-only inventory: what is left in AWS that belongs to an environment, and whose it is.

One collector per service or small family (see :mod:`envctl.inventory.collectors`), run in parallel across
services and regions through clients that refuse anything but reads (:mod:`envctl.inventory.readonly`).
No pricing and no printing here.
"""

from envctl.inventory.collectors import (
    ACCOUNT_ACTIONS,
    ALL_ACTIONS,
    AUDIT_ACTIONS,
    COLLECTORS,
    POLICY_ACTIONS,
    SPEND_ACTIONS,
    Collector,
)
from envctl.inventory.core import GuardedClients, collect
from envctl.inventory.model import GLOBAL, ClientFactory, Inventory, Resource, Scope
from envctl.inventory.readonly import ReadOnlyViolation, policy_json

__all__ = [
    "ACCOUNT_ACTIONS",
    "ALL_ACTIONS",
    "AUDIT_ACTIONS",
    "COLLECTORS",
    "GLOBAL",
    "POLICY_ACTIONS",
    "SPEND_ACTIONS",
    "ClientFactory",
    "Collector",
    "GuardedClients",
    "Inventory",
    "ReadOnlyViolation",
    "Resource",
    "Scope",
    "collect",
    "policy_json",
]
