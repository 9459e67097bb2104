from __future__ import annotations

from collections.abc import Iterator

import pytest

from vpcfactory_tools.emulator import latency
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.settings import EmulatorSettings

# 1 simulated second = 1 ms: a 90 s NAT wait takes 0.09 s, a 60 s Wait state 0.06 s.
TIME_SCALE = 0.001
# What `make bench` builds with (bench/common.py, BenchConfig): 1 simulated second = 20 real ms, and
# every EC2 call takes 100 simulated ms (the latency model's default).
BENCH_TIME_SCALE = 0.02
BENCH_EC2_CALL_SECONDS = 0.1


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


@pytest.fixture
def bench_emulator(emu: EmbeddedEmulator) -> Iterator[EmbeddedEmulator]:
    """The module's emulator as `make bench` runs it: its time scale, the latency model on top."""
    emu.reconfigure(EmulatorSettings(time_scale=BENCH_TIME_SCALE))
    was_installed = latency.installed()
    latency.install()
    try:
        with latency.configured(ec2_call_seconds=BENCH_EC2_CALL_SECONDS):
            yield emu
    finally:
        if not was_installed:
            latency.uninstall()
