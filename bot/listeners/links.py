"""Member Care links unfolded: `link_shared` → a short card through `chat.unfurl`, and its "Open privately"
button, which shows the full answer in a modal to whoever clicks."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import replace
from typing import Any

from slack_bolt import App, BoltContext

from blocks.modal import render_answer, render_loading
from blocks.unfurl import render_unfurl
from bot.audit_log import write_audit
from bot.domain.action_ids import ACTION_OPEN_FROM_LINK
from bot.domain.coupon import MAX_CUSTOMER_ID, CodeCase
from bot.domain.errors import AccessDenied, CouponsBotError
from bot.domain.view_state import Surface, ViewState
from bot.listeners.lazy import acknowledge, guarded
from bot.lookup_answers import Ask, Found
from bot.requester import Requester
from bot.services import Services

# Links unfolded in one message: a message full of customer links costs Capillary no more than this.
MAX_LINKS = 3
_CUSTOMER_PAGE = re.compile(r"/member-care/ui/([0-9]{1,19})/?", re.ASCII)


def read_hosts(setting: str) -> frozenset[str]:
    """`COUPONS_MEMBER_CARE_HOSTS`: comma-separated host names, in lower case (a pasted URL counts as its host)."""
    entries = (entry.strip().lower() for entry in setting.split(","))
    hosts = (urllib.parse.urlsplit(entry).hostname if "//" in entry else entry.split("/")[0] for entry in entries)
    return frozenset(host for host in hosts if host)


def member_care_customer(url: str, hosts: frozenset[str]) -> int | None:
    """The customer ID of `https://<host>/member-care/ui/<customerId>` on one of `hosts`; None for any other link."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed URL (a bad port, an unclosed bracket)
        return None
    match = _CUSTOMER_PAGE.fullmatch(parts.path)
    if parts.scheme not in {"https", "http"} or host not in hosts or match is None:
        return None
    customer_id = int(match[1])
    return customer_id if 0 < customer_id <= MAX_CUSTOMER_ID else None


def member_care_links(links: object, hosts: frozenset[str]) -> dict[str, int]:
    """The event's links to Member Care customer pages (at most MAX_LINKS), each with its customer ID."""
    found: dict[str, int] = {}
    for link in links if isinstance(links, list) else []:
        url = link.get("url") if isinstance(link, dict) else None
        if not isinstance(url, str):
            continue
        customer_id = member_care_customer(url, hosts)
        if customer_id is not None and len(found) < MAX_LINKS:
            found[url] = customer_id
    return found


def register(app: App, services: Services, *, hosts: frozenset[str]) -> None:
    app.event("link_shared")(ack=acknowledge, lazy=[guarded(unfurl, services, action="unfurl", hosts=hosts)])
    app.action(ACTION_OPEN_FROM_LINK)(
        ack=acknowledge, lazy=[guarded(open_privately, services, action="open_from_link")]
    )


def unfurl(
    services: Services, hosts: frozenset[str], context: BoltContext, body: dict[str, Any], event: dict[str, Any]
) -> None:
    """`hosts`: whose links unfold (`COUPONS_MEMBER_CARE_HOSTS`)."""
    links = member_care_links(event.get("links"), hosts)
    if not links:  # another app's link, or the feature is off (no hosts): not ours to unfold
        return
    answerer, policy = services.answerer, services.policy
    requester = Requester.of(context)
    # The card is for everyone in the conversation: only where a shared answer may be posted.
    if not (policy.allows(requester) and policy.may_share(requester)):
        write_audit(requester, action="unfurl", outcome=AccessDenied.outcome, decision="denied")
        return
    unfurls: dict[str, dict[str, Any]] = {}
    for url, customer_id in links.items():
        found = answerer.find(
            ViewState(customer_id, CodeCase.UPPER, surface=Surface.EPHEMERAL), Ask(requester, "unfurl")
        )
        if isinstance(found, Found):  # a customer that can't be shown leaves the link as it is
            value = answerer.codec.encode(ViewState(customer_id, found.summary.case, surface=Surface.MODAL))
            unfurls[url] = {"blocks": render_unfurl(found.summary, found.card, open_value=value)}
            answerer.record(found)
    if unfurls:
        services.delivery.unfurl(
            unfurls,
            channel_id=event.get("channel"),
            message_ts=event.get("message_ts"),
            unfurl_id=event.get("unfurl_id"),
            source=event.get("source"),
        )


def open_privately(services: Services, context: BoltContext, body: dict[str, Any], action: dict[str, Any]) -> None:
    """The full answer in a modal (Loading… at once: the trigger lasts 3 seconds), or in the DM with the bot when
    the modal can't be opened."""
    answerer, delivery = services.answerer, services.delivery
    requester = Requester.of(context)
    try:
        view = answerer.codec.decode(action.get("value"))
    except CouponsBotError as error:
        write_audit(requester, action="open_from_link", outcome=error.outcome)
        delivery.to_user(requester, answerer.refusal(error))
        return
    view_id = delivery.open_modal(body.get("trigger_id"), render_loading(f"customer {view.customer_id}"))
    surface = Surface.MODAL if view_id else Surface.MESSAGE
    message = answerer.answer(replace(view, surface=surface), Ask(requester, "open_from_link", may_share=False))
    if view_id:
        delivery.update_view(view_id, render_answer(message))
    else:
        delivery.to_user(requester, message)
