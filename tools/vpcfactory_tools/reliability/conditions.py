"""The conditions every reliability case runs under: the time scale, EC2's eventual consistency,
and :func:`settings` -- the emulator's defaults plus whatever faults, crashes or throttling one
case adds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.settings import EmulatorSettings

TIME_SCALE = 0.001  # one simulated second is one real millisecond
# Every case runs with EC2's eventual consistency on (new ids answer NotFound to other calls for
# this many simulated seconds) and the VPC's IPv6 /56 associating for a while (the default).
CONSISTENCY_DELAY = 2.0


def settings(emu: EmbeddedEmulator, **changes: Any) -> EmulatorSettings:
    """The emulator's defaults at its time scale (no faults, crashes or throttling), plus ``changes``."""
    base = EmulatorSettings(time_scale=emu.settings.time_scale, consistency_delay_seconds=CONSISTENCY_DELAY)
    return replace(base, **changes)
