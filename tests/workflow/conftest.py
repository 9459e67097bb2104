from __future__ import annotations

import pytest

from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.settings import EmulatorSettings

# 1 simulated second = 1 ms: a 90 s NAT wait takes 0.09 s, a 60 s Wait state 0.06 s.
TIME_SCALE = 0.001


@pytest.fixture(scope="module")
def emulator():
    with EmbeddedEmulator(EmulatorSettings(time_scale=TIME_SCALE)) as emu:
        yield emu


@pytest.fixture
def emu(emulator):
    """The module's emulator with default settings (no faults) for this test."""
    emulator.reconfigure(EmulatorSettings(time_scale=TIME_SCALE))
    yield emulator
    emulator.reconfigure(EmulatorSettings(time_scale=TIME_SCALE))
