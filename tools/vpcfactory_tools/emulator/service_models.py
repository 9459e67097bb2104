"""botocore's service models, parsed once per process.

botocore parses a service's model (EC2's is megabytes of JSON, 0.1-0.2 s) once per *session*: each
session makes its own loader, and the loader caches what it read. In the emulator's process sessions
come and go: the handlers make one per client and one per role they assume (a cross-account build,
each account of a rollout), every emulator start makes new ones, and so do the test suites. After
:func:`install` every botocore session made in the process reads the models through one shared
loader (per data path), so each model is parsed once per process.

Nothing answers differently: the loader only reads the model files and caches what it read, and a
client builds its own objects from the parsed data and changes none of it (the clients of one
session already shared it). It is botocore's, not moto's, so it is installed whatever moto is.
"""

from __future__ import annotations

import functools

from botocore import loaders, session

from .patching import Patcher, PatchSet

PINNED_SOURCES: dict[str, str] = {
    "botocore.session:Session._register_data_loader": "217146aba7ceda63",
}


@functools.lru_cache(maxsize=8)
def shared_loader(data_path: str | None) -> loaders.Loader:
    """The process's botocore loader for ``data_path`` (the ``data_path`` config variable)."""
    return loaders.create_loader(data_path)


def _register_shared_loader(self: session.Session) -> None:
    """``Session._register_data_loader``: the session's ``data_loader`` is the process's shared one."""
    self.lazy_register_component("data_loader", lambda: shared_loader(self.get_config_variable("data_path")))


def _apply(patcher: Patcher) -> None:
    _register_shared_loader.__wrapped__ = session.Session.__dict__["_register_data_loader"]  # type: ignore[attr-defined]
    patcher.set(session.Session, "_register_data_loader", _register_shared_loader)


_patches = PatchSet(_apply, check_version=False)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
