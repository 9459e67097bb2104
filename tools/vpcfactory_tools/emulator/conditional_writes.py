"""DynamoDB conditional writes decided as one step, as DynamoDB decides them.

AWS: a PutItem, UpdateItem or DeleteItem with a ConditionExpression succeeds only if the condition
holds for the item as it is when the write is applied; of two writers racing on one item, one
succeeds and the other gets ConditionalCheckFailedException (Amazon DynamoDB Developer Guide,
"Condition expressions" and "Conditional writes"). The factory's build lock (functions/vpcfactory/
build_lock.py) depends on exactly that.

moto 5.2.5 evaluates the condition against the stored item and then stores the new one, in Python,
with nothing in between to stop another thread: two handlers in the emulator's process (two
executions' Validate And Plan) can both pass ``attribute_not_exists`` and both "take" the lock.
This patch serializes moto's item writes, so a condition and its write are one step again.

Patched moto code is pinned (PINNED_SOURCES), like the EC2 fidelity patches (fidelity.py).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from .patching import Patcher, PatchSet

# sha256[:16] of inspect.getsource() of each moto function patched here, at patching.MOTO_VERSION.
PINNED_SOURCES: dict[str, str] = {
    "moto.dynamodb.models:DynamoDBBackend.put_item": "f5d9a5042c77b89e",
    "moto.dynamodb.models:DynamoDBBackend.update_item": "218984588dd689a5",
    "moto.dynamodb.models:DynamoDBBackend.delete_item": "083a4bb1af18f6fd",
    # relied on: the table method that checks the condition, then stores
    "moto.dynamodb.models.table:Table.put_item": "de23933013ef8426",
}

WRITES = ("put_item", "update_item", "delete_item")

_WRITE_LOCK = threading.RLock()  # every table of every account: writes are rare and short here


def _one_at_a_time(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _WRITE_LOCK:
            return original(self, *args, **kwargs)

    return write


def _apply(patcher: Patcher) -> None:
    """Serialize moto's DynamoDB item writes (idempotent)."""
    for name in WRITES:
        patcher.set(DynamoDBBackend, name, _one_at_a_time(DynamoDBBackend.__dict__[name]))


_patches = PatchSet(_apply)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
