"""The emulator's simulated clock (settings.SimClock; its module docstring has the model): while
something simulates, simulated time is the sleeps taken, never the real time spent computing, so a
busy machine runs the same simulation as an idle one (issue 16)."""

from __future__ import annotations

import threading
import time

import pytest

from vpcfactory_tools.emulator.settings import SimClock

SCALE = 0.001  # 1 simulated second = 1 real ms


def compute(seconds: float) -> None:
    """Keep this thread busy for ``seconds`` real seconds, as a CPU-starved handler would."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def test_while_simulating_computing_takes_no_simulated_time_and_a_sleep_takes_its_length() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating():
        start = clock.now()
        compute(0.05)  # 50 simulated seconds on a clock that counted real time
        after_compute = clock.now()
        clock.sleep(10)
        after_sleep = clock.now()

    assert after_compute == start
    assert after_sleep == start + 10


def test_a_sleep_that_wakes_up_late_counts_only_its_length() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating():
        start = clock.now()
        with clock.sleeping(5) as sleep:
            time.sleep(sleep.real_seconds + 0.05)  # woken 50 ms late: a busy machine
        assert clock.now() == start + 5


def test_sleeps_in_threads_at_the_same_time_overlap_instead_of_adding_up() -> None:
    clock = SimClock(time_scale=SCALE)
    together = threading.Barrier(3)

    def branch() -> None:
        together.wait()
        clock.sleep(100)  # 0.1 real seconds

    with clock.simulating():
        start = clock.now()
        threads = [threading.Thread(target=branch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended = clock.now()

    assert start + 100 <= ended < start + 200  # one branch's sleep (plus start skew), not 300


def test_an_interrupted_sleep_counts_only_the_part_slept() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating():
        start = clock.now()
        with clock.sleeping(1000) as sleep:
            time.sleep(0.02)
            sleep.interrupted = True  # a stopped execution's Wait
        assert start + 20 <= clock.now() < start + 1000


def test_a_sleep_in_progress_moves_the_clock_for_other_threads_up_to_its_end() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating():
        start = clock.now()
        with clock.sleeping(200) as sleep:
            time.sleep(0.02)
            midway = clock.now()
            time.sleep(max(0.0, sleep.deadline - time.monotonic()) + 0.02)
            at_its_end = clock.now()

    assert start + 20 <= midway < start + 200
    assert at_its_end == start + 200


def test_outside_simulating_the_clock_runs_with_real_time_and_switching_modes_never_goes_back() -> None:
    clock = SimClock(time_scale=SCALE)
    time.sleep(0.02)
    real_time = clock.now()
    with clock.simulating():
        entered = clock.now()
        compute(0.02)
        simulated = clock.now()
    left = clock.now()
    time.sleep(0.02)
    later = clock.now()

    assert real_time >= 20
    assert entered >= real_time and simulated == entered
    assert left >= simulated and later >= left + 15


def test_simulating_blocks_nest_and_the_clock_simulates_until_the_last_one_ends() -> None:
    clock = SimClock(time_scale=SCALE)
    outer = clock.simulating()
    outer.__enter__()
    with clock.simulating():
        assert clock.simulating_now
    assert clock.simulating_now
    outer.__exit__(None, None, None)
    assert not clock.simulating_now


def test_advancing_a_simulating_clock_moves_its_sleeps_in_progress_with_it() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating():
        start = clock.now()
        with clock.sleeping(10) as sleep:
            clock.advance(300)
            time.sleep(sleep.real_seconds)
        assert clock.now() == start + 310
        with pytest.raises(ValueError, match="only moves forward"):
            clock.advance(-1)
