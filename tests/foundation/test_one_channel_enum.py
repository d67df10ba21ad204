"""One enum of channels (``channels.base.ChannelKind``): the service uses it, and the API still calls it ``Channel``."""

from __future__ import annotations

import enum
import importlib
import pkgutil

import pytest
from pydantic import TypeAdapter, ValidationError

import alertsvc
import channels
from alertsvc.app import create_app
from alertsvc.tracking.states import Channel
from channels.base import ChannelKind


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_there_is_one_enum_of_channels() -> None:
    for package in (alertsvc, channels):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name != "alertsvc.store.migrations.env":  # runs only inside alembic
                importlib.import_module(info.name)
    values = {kind.value for kind in ChannelKind}
    enums = [
        cls
        for cls in _subclasses(enum.Enum)
        if cls.__module__.startswith(("alertsvc.", "channels.")) and {m.value for m in cls} == values
    ]
    assert enums == [ChannelKind]


def test_the_api_reads_a_channel_as_the_enum_and_documents_it_as_before() -> None:
    adapter = TypeAdapter(Channel)
    assert adapter.validate_python("email") is ChannelKind.EMAIL
    with pytest.raises(ValidationError) as refused:
        adapter.validate_python("fax")
    assert refused.value.errors()[0]["msg"] == "Input should be 'sms', 'email' or 'push'"
    schemas = create_app().openapi()["components"]["schemas"]
    assert schemas["Channel"] == {"type": "string", "enum": ["sms", "email", "push"], "title": "Channel"}
    assert "ChannelKind" not in schemas
