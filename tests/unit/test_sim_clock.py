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


class Pool:
    """What SimClock reads of a ThreadPoolExecutor: its width."""

    def __init__(self, max_workers: int) -> None:
        self._max_workers = max_workers


def run_pool(clock: SimClock, pool: Pool, tasks: list, threads: int) -> None:
    """Hand ``tasks`` to ``pool`` at once, then run them in order on ``threads`` real threads, as a
    ThreadPoolExecutor does."""
    queue = [(clock.hand_over(pool), task) for task in tasks]
    taking = threading.Lock()

    def worker() -> None:
        while True:
            with taking:
                if not queue:
                    return
                hand_over, task = queue.pop(0)
                entered = clock.pool_task(hand_over)
                entered.__enter__()  # taken in order, as the pool's queue is
            try:
                task()
            finally:
                entered.__exit__(None, None, None)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()


def test_pool_work_sleeps_from_its_hand_over_however_late_each_thread_gets_the_cpu() -> None:
    # Issue 16: a handler hands its independent calls to a pool; the emulator spends far more real
    # time on each call than its scaled latency, so the threads reach their sleeps one after the
    # other. Handed over at once, they still overlap: 5 calls on a pool of 2 = 3 waves of 10 s.
    clock = SimClock(time_scale=SCALE)
    emulator_cpu = threading.Lock()  # a call's CPU, one thread at a time (GIL, dispatch lock)
    began: list[float] = []

    def call() -> None:
        with emulator_cpu:
            compute(0.03)  # 30 simulated seconds a call would wait for without the rule
        with clock.sleeping(10) as sleep:
            began.append(sleep.began)
            time.sleep(sleep.real_seconds)

    with clock.simulating(), clock.flow():
        start = clock.now()
        run_pool(clock, Pool(max_workers=2), [call] * 5, threads=2)
        ended = clock.now()

    assert sorted(b - start for b in began) == [0, 0, 10, 10, 20]
    assert ended == start + 30  # three waves of one call's latency, not 5 calls plus their compute


def test_a_real_thread_that_takes_the_next_task_early_does_not_delay_it_in_simulated_time() -> None:
    # The emulator's calls are slow in real time: one real thread may finish a task and take the
    # next before the others have started. The pool has 10 workers: all 3 tasks begin at once.
    clock = SimClock(time_scale=SCALE)
    began: list[float] = []

    def call() -> None:
        with clock.sleeping(10) as sleep:
            began.append(sleep.began)
            time.sleep(sleep.real_seconds)

    with clock.simulating(), clock.flow():
        start = clock.now()
        run_pool(clock, Pool(max_workers=10), [call] * 3, threads=1)

    assert [b - start for b in began] == [0, 0, 0]


def test_a_flows_next_pass_is_handed_over_after_its_pool_work_and_a_pass_at_one_instant() -> None:
    clock = SimClock(time_scale=SCALE)
    with clock.simulating(), clock.flow():
        start = clock.now()
        first, second = Pool(max_workers=2), Pool(max_workers=2)
        creates = clock.hand_over(first)
        with clock.pool_task(creates):
            clock.sleep(10)  # one of the pass's calls ends...
        late = clock.hand_over(first)  # ...before the handler has handed over the pass's last one
        attributes = clock.hand_over(second)  # the next pass, once it has waited for the first
        with clock.sleeping(10) as own:  # and the handler's own call after that
            time.sleep(own.real_seconds)

    assert creates.instant == late.instant == start
    assert attributes.instant == start + 10
    assert own.began == start + 10  # a sleep outside pool work begins at the clock's now, as before
