"""Every string the code and templates translate is in every catalogue, and every translation keeps its placeholders.

The extracted ids come from running the very ``pybabel extract`` commands written in ``babel.cfg``, so the test also
proves that the extraction configuration finds them (carried over and widened from the console's old check of its
French JSON catalogue).
"""

from __future__ import annotations

import glob
import re
import shlex
import string
from collections.abc import Iterable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from alertsvc import i18n
from alertsvc.alerts.states import AlertState
from alertsvc.dispatch.render import LABELS
from alertsvc.residents import validation
from alertsvc.security.scopes import Role
from alertsvc.web.console import compose, pages

ROOT = Path(__file__).resolve().parents[2]
_COMMAND = re.compile(r"^#\s+(pybabel extract -F babel\.cfg -o (\w+)\.pot .+)$", re.MULTILINE)
TRANSLATED = [(domain, lang) for domain, langs in i18n.DOMAINS.items() for lang in langs if lang != i18n.DEFAULT]


def _commands() -> dict[str, list[str]]:
    found = {m.group(2): shlex.split(m.group(1)) for m in _COMMAND.finditer((ROOT / "babel.cfg").read_text())}
    assert set(found) == set(i18n.DOMAINS), "babel.cfg gives one extract command per domain"
    return found


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Catalog]:
    """domain -> the message template that ``babel.cfg``'s command for it writes."""
    out = tmp_path_factory.mktemp("pot")
    monkeypatch_module.chdir(ROOT)
    templates: dict[str, Catalog] = {}
    for domain, argv in _commands().items():
        # The shell expands alertsvc/web/*.py for a person; do the same here.
        paths = [match for arg in argv[6:] for match in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        pot = out / f"{domain}.pot"
        CommandLineInterface().run([*argv[:4], "-o", str(pot), *paths])
        with pot.open("rb") as handle:
            templates[domain] = read_po(handle)
    return templates


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterable[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _entries(catalog: Catalog) -> dict[str, Message]:
    return {_key(message): message for message in catalog if message.id}


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else str(message.id[0])


def _po(domain: str, lang: str) -> Catalog:
    with i18n.catalogue_path(domain, lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def _forms(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else [str(form) for form in message.string]


def _ids(message: Message) -> list[str]:
    return [message.id] if isinstance(message.id, str) else [str(text) for text in message.id]


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize(("domain", "lang"), TRANSLATED)
def test_every_extracted_string_is_translated(domain: str, lang: str, extracted: dict[str, Catalog]) -> None:
    catalogue = _entries(_po(domain, lang))
    problems = []
    for key, wanted in _entries(extracted[domain]).items():
        found = catalogue.get(key)
        if found is None:
            problems.append(f"missing: {key!r}")
        elif found.fuzzy or not all(_forms(found)):
            problems.append(f"fuzzy or empty: {key!r}")
        elif _ids(found) != _ids(wanted):
            problems.append(f"singular/plural ids differ: {_ids(found)} != {_ids(wanted)}")
    assert problems == []


@pytest.mark.parametrize(("domain", "lang"), TRANSLATED)
def test_every_translation_is_still_extracted(domain: str, lang: str, extracted: dict[str, Catalog]) -> None:
    """So ``pybabel update`` retires nothing that is still shown (and nothing unused lingers in a catalogue)."""
    assert sorted(set(_entries(_po(domain, lang))) - set(_entries(extracted[domain]))) == []


@pytest.mark.parametrize(("domain", "lang"), TRANSLATED)
def test_translations_keep_the_placeholders(domain: str, lang: str) -> None:
    problems = []
    for key, message in _entries(_po(domain, lang)).items():
        wanted = _fields(_ids(message)[-1])
        for text in [*_ids(message), *_forms(message)]:
            if _fields(text) != wanted:
                problems.append(f"{key!r}: {text!r} has {sorted(_fields(text))}, not {sorted(wanted)}")
    assert problems == []


def test_catalogues_state_their_plural_rule() -> None:
    for domain, lang in TRANSLATED:
        catalog = _po(domain, lang)
        assert catalog.num_plurals == 2 and catalog.plural_expr == {"fr": "(n > 1)", "es": "(n != 1)"}[lang]


def test_strings_translated_from_variables_are_extracted(extracted: dict[str, Catalog]) -> None:
    """The lists a template or route translates an item of (``_(state)``) are each named for extraction."""
    console = set(_entries(extracted["console"]))
    shown = {text for pair in pages.STATUS_WORDS.values() for text in pair}
    shown |= set(compose.FIELD_LABELS.values())
    shown |= {*compose.CATEGORIES, *compose.URGENCIES, *compose.SEVERITIES, *compose.CERTAINTIES}
    shown |= {state.value for state in AlertState} | {role.value for role in Role} | set(validation.CHANNELS)
    shown |= {"Alert", "Update", "Cancel", "UPDATE", "CANCEL"}
    assert sorted(shown - console) == []
    resident = set(_entries(extracted["resident"]))
    assert sorted({*validation.CATEGORIES, *validation.SEVERITIES, *validation.CHANNELS} - resident) == []
    assert sorted(set(LABELS.values()) - set(_entries(extracted["messages"]))) == []
