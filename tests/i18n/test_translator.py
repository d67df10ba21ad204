"""The shared translator: language negotiation, English fallback, plurals, formatting, and one parse per language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest
from babel.messages import pofile

from alertsvc import i18n
from alertsvc.dispatch import render
from alertsvc.web import i18n as web_i18n
from alertsvc.web.console import i18n as console_i18n

LANGS = ("en", "fr", "es")


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Empty the per-process caches before and after (other tests must not see a patched catalogue)."""
    caches = (i18n.catalogue, i18n._translator, render.labels)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


def test_stored_language_comes_first_then_query_then_accept_language() -> None:
    assert i18n.negotiate(LANGS, stored="es-MX", query="fr", accept_language="fr") == "es"
    assert i18n.negotiate(LANGS, stored="de", query="fr_CA", accept_language="es") == "fr"
    assert i18n.negotiate(LANGS, stored=None, query="xx", accept_language="de, es;q=0.5, fr;q=0.4") == "es"
    assert i18n.negotiate(LANGS, stored="", query="", accept_language="de, *;q=0.1") == "en"
    assert i18n.negotiate(("en", "fr"), accept_language="es", default="fr") == "fr"
    assert web_i18n.pick_language("fr", "es", stored="es-ES") == "es"
    assert web_i18n.pick_language(None, "es-AR,es;q=0.9") == "es"


def test_accept_language_quality_values_and_order() -> None:
    assert i18n.accept_language_order("fr-CA,fr;q=0.9,en;q=0.8") == ["fr", "fr", "en"]
    assert i18n.accept_language_order("en;q=0.2, es;q=0.9, fr") == ["fr", "es", "en"]
    assert i18n.accept_language_order("fr;q=0, es;q=bad, en") == ["en"]
    assert i18n.accept_language_order(None) == []


def test_console_falls_back_to_english_where_it_has_no_spanish() -> None:
    assert console_i18n.negotiate("es-ES,es;q=0.9") == "en"
    assert console_i18n.negotiate("es, fr;q=0.5") == "fr"
    assert console_i18n.negotiate("fr", stored="en") == "en"
    assert console_i18n.translator("es")("Sign in") == "Sign in"
    assert console_i18n.translator("fr-CA")("Sign in") == "Se connecter"
    assert web_i18n.gettext_for("es")("Sign up") == "Suscribirse"


def test_messages_speak_each_language_and_english_otherwise() -> None:
    assert render.labels("fr-CA")["test"] == "TEST - CE N'EST PAS UNE VRAIE ALERTE"
    assert render.labels("es-MX")["cancel"] == "CANCELADO"
    assert render.labels("de-DE") == dict(render.LABELS)
    info = {"language": "es-US", "headline": "Fuga de gas", "instruction": "Salga"}
    rendered = render.render_info(
        info, status="Exercise", msg_type="Alert", sender_name="Ville", public_url="https://x", max_segments=3
    )
    assert rendered.sms.startswith("SIMULACRO - NO ES UNA ALERTA REAL: Fuga de gas")
    assert "Qué hacer: Salga" in rendered.email_text and "Darse de baja:" in rendered.email_text


def test_values_are_formatted_only_when_given() -> None:
    _ = i18n.translator("console", "fr")
    assert _("Cancelled by {who}.", who="ana") == "Annulée par ana."
    assert _("Cancelled by {who}.") == "Annulée par {who}."
    assert i18n.translator("console", "en")("{message} x", message="m") == "m x"


def _write_po(path: Path, body: str) -> None:
    path.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
    (path / "test.po").write_text(header + body, encoding="utf-8")


@pytest.fixture
def test_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_caches: None) -> None:
    """A ``test`` domain in French with a plural entry, a fuzzy one and an empty one."""
    _write_po(
        tmp_path / "fr" / "LC_MESSAGES",
        'msgid "{n} resident"\nmsgid_plural "{n} residents"\nmsgstr[0] "{n} résident"\nmsgstr[1] "{n} résidents"\n\n'
        'msgid "{n} key"\nmsgid_plural "{n} keys"\nmsgstr[0] "{n} clé"\nmsgstr[1] ""\n\n'
        '#, fuzzy\nmsgid "Save"\nmsgstr "Sauver"\n\nmsgid "Saved"\nmsgstr ""\n\nmsgid "Sent"\nmsgstr "Envoyé"\n',
    )
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    monkeypatch.setattr(i18n, "DOMAINS", MappingProxyType({**i18n.DOMAINS, "test": ("en", "fr")}))


@pytest.mark.usefixtures("test_domain")
def test_plural_forms_follow_each_language() -> None:
    fr, en = i18n.translator("test", "fr"), i18n.translator("test", "en")
    forms = ("{n} resident", "{n} residents")
    assert [fr.ngettext(*forms, n) for n in (0, 1, 2)] == ["0 résident", "1 résident", "2 résidents"]
    assert [en.ngettext(*forms, n) for n in (0, 1, 2)] == ["0 residents", "1 resident", "2 residents"]
    assert fr.ngettext("{n} resident", "{n} residents", 12345, n="12 345") == "12 345 résidents"
    # a plural with an empty form is not half-translated: the English pair is used
    assert fr.ngettext("{n} key", "{n} keys", 1) == "1 key"


@pytest.mark.usefixtures("test_domain")
def test_fuzzy_and_empty_entries_fall_back_to_english() -> None:
    fr = i18n.translator("test", "fr")
    assert (fr("Save"), fr("Saved"), fr("Sent")) == ("Save", "Saved", "Envoyé")


def test_rendering_parses_each_catalogue_once(monkeypatch: pytest.MonkeyPatch, fresh_caches: None) -> None:
    """The fan-out renders thousands of messages a second: after the first, a language costs no file I/O."""
    parsed: list[str | None] = []
    real = pofile.read_po

    def counting(*args: object, **kwargs: object) -> object:
        parsed.append(str(kwargs.get("domain")))
        return real(*args, **kwargs)

    monkeypatch.setattr(pofile, "read_po", counting)
    for number in range(200):
        language = ("fr-CA", "fr-FR", "fr", "es-MX", "en-US")[number % 5]
        info = {"language": language, "headline": f"Alerte {number}"}
        render.render_info(
            info, status="Test", msg_type="Alert", sender_name="V", public_url="https://x", max_segments=1
        )
    assert sorted(parsed) == ["messages", "messages"]
    assert i18n.translator("messages", "fr-CA") is i18n.translator("messages", "fr")


def test_numbers_are_formatted_by_babel() -> None:
    assert i18n.format_number(12345, "en") == "12,345"
    assert i18n.format_number(12345, "fr-CA") == "12\u00a0345"
    assert console_i18n.number(12345, "fr") == "12\u202f345"
    assert i18n.format_number(1.5, "xx-invalid") == "1.5"
