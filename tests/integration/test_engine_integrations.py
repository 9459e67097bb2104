"""The emulator's fix for moto's `states:startExecution` integration is pinned to the moto code it
patches: an upgrade that changes it must be looked at, not silently trusted."""

from vpcfactory_tools.emulator import engine_integrations
from vpcfactory_tools.emulator.fidelity import source_fingerprints


def test_the_moto_code_the_start_execution_fix_relies_on_is_unchanged_since_it_was_pinned():
    assert source_fingerprints(list(engine_integrations.PINNED_SOURCES)) == engine_integrations.PINNED_SOURCES


def test_install_is_idempotent_and_uninstall_gives_moto_back():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    was = engine_integrations.installed()
    engine_integrations.install()
    patched = StateTaskServiceSfn._eval_service_task
    engine_integrations.install()
    assert StateTaskServiceSfn._eval_service_task is patched
    engine_integrations.uninstall()
    assert StateTaskServiceSfn._eval_service_task is not patched
    if was:
        engine_integrations.install()
