"""The ``send_confirmation(contact_id)`` job: the one message an unconfirmed contact may ever get.

A new or re-subscribing contact gets its code (SMS) or confirmation link (e-mail, push); a contact that is
already subscribed gets a link to manage its subscription instead. Sent straight through the channel (no
delivery row: this is not an alert), at most once a minute per contact.
"""

from __future__ import annotations

import logging
from typing import Any

from alertsvc.clock import utcnow
from alertsvc.dispatch.context import WorkerContext
from alertsvc.residents.manage_links import manage_link_token
from alertsvc.residents.subscribe import issue_secret
from alertsvc.store.db import transaction
from alertsvc.store.models import Contact, Resident
from channels.base import ChannelError, Message

log = logging.getLogger(__name__)

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "code": "{service}: your confirmation code is {code}. It expires in 30 minutes.",
        "link": "{service}: confirm your subscription to public safety alerts: {link}",
        "manage": "{service}: you are already subscribed. Manage your subscription: {link}",
        "subject": "Confirm your subscription to public safety alerts",
    },
    "fr": {
        "code": "{service} : votre code de confirmation est {code}. Il expire dans 30 minutes.",
        "link": "{service} : confirmez votre abonnement aux alertes de sécurité publique : {link}",
        "manage": "{service} : vous êtes déjà abonné. Gérer votre abonnement : {link}",
        "subject": "Confirmez votre abonnement aux alertes de sécurité publique",
    },
    "es": {
        "code": "{service}: su código de confirmación es {code}. Vence en 30 minutos.",
        "link": "{service}: confirme su suscripción a las alertas de seguridad pública: {link}",
        "manage": "{service}: ya está suscrito. Administre su suscripción: {link}",
        "subject": "Confirme su suscripción a las alertas de seguridad pública",
    },
}


def words_for(language: str) -> dict[str, str]:
    return WORDS.get(language.lower()[:2], WORDS["en"])


async def send_confirmation(ctx: dict[str, Any], contact_id: int, page_language: str | None = None) -> str:
    """Send a contact its confirmation, or "already subscribed" with the manage link. That second answer is in
    ``page_language`` when given (the language of the sign-up page the person used, who may not be the resident
    whose stored language it is), else in the resident's stored language."""
    app: WorkerContext = ctx["app"]
    now = utcnow()
    public = app.settings.public_url.rstrip("/")
    async with transaction(app.runtime.sessions) as session:
        contact = await session.get(Contact, contact_id)
        if contact is None:
            return "gone"
        resident = await session.get(Resident, contact.resident_id)
        words = words_for(resident.language if resident else "en")
        service = app.settings.service_name
        if contact.confirmed_at is not None and contact.opted_out_at is None:
            words = words_for(page_language) if page_language else words
            if resident is None:  # deleted meanwhile (its contacts go with it)
                return "gone"
            manage = manage_link_token(app.settings, resident, now)  # expires; void once the resident signs out
            body = words["manage"].format(service=service, link=f"{public}/r/manage/{manage}")
        else:
            secret = await issue_secret(session, contact, now)
            if secret is None:
                return "throttled"
            if contact.channel == "sms":
                body = words["code"].format(service=service, code=secret)
            else:
                body = words["link"].format(service=service, link=f"{public}/r/confirm/{contact.id}-{secret}")
        message = Message(
            channel=contact.channel, to=contact.address, body=body, subject=words["subject"],
            reference=f"confirm-{contact.id}",
        )  # fmt: skip
    try:
        await app.channels[message.channel].send(message)
    except ChannelError as exc:
        log.warning("confirmation for contact %s not sent: %s", contact_id, exc.code)
        return f"failed: {exc.code}"
    return "sent"
