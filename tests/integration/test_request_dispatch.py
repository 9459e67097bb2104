"""moto finds each request's method without listing its response class (emulator/request_dispatch.py):
the answer is moto's for every action of every response class, patched methods included."""

from __future__ import annotations

import importlib
import inspect

import pytest
from moto.core import responses
from moto.core.responses import BaseResponse
from moto.core.utils import method_names_from_class

from vpcfactory_tools.emulator import request_dispatch
from vpcfactory_tools.emulator.patching import source_fingerprints


def _response_classes(service: str) -> list[type]:
    module = importlib.import_module(f"moto.{service}.responses")
    found = {c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, BaseResponse)}
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def test_the_moto_code_it_answers_for_is_unchanged_since_it_was_pinned() -> None:
    assert source_fingerprints(request_dispatch.PINNED_SOURCES) == request_dispatch.PINNED_SOURCES


@pytest.mark.parametrize("service", ["ec2", "stepfunctions", "awslambda", "iam", "dynamodb", "s3", "logs", "sts"])
def test_every_name_is_a_method_exactly_when_moto_lists_it(service: str) -> None:
    for clazz in _response_classes(service):
        listed = method_names_from_class(clazz)
        answered = request_dispatch.method_names(clazz)
        for name in [*dir(clazz), "not_an_action", "", "mro", "__class__", "__init_subclass__"]:
            assert (name in answered) == (name in listed), (clazz, name)


def test_a_method_patched_in_or_out_is_seen_at_once() -> None:
    class Response(BaseResponse):
        def create_thing(self) -> str:
            return "made"

    names = request_dispatch.method_names(Response)
    assert "create_thing" in names and "delete_thing" not in names
    Response.delete_thing = lambda self: "gone"  # type: ignore[attr-defined]
    assert "delete_thing" in names
    del Response.create_thing
    assert "create_thing" not in names


def test_a_class_with_a_metaclass_of_its_own_gets_motos_list() -> None:
    class Meta(type):
        def from_meta(cls) -> None: ...

    class Response(BaseResponse, metaclass=Meta):
        def act(self) -> None: ...

    assert request_dispatch.method_names(Response) == method_names_from_class(Response)


def test_install_swaps_what_call_action_asks_and_uninstall_gives_moto_back() -> None:
    was_installed = request_dispatch.installed()
    request_dispatch.install()
    try:
        assert responses.method_names_from_class is request_dispatch.method_names
        request_dispatch.uninstall()
        assert responses.method_names_from_class is method_names_from_class
    finally:
        if was_installed:
            request_dispatch.install()
