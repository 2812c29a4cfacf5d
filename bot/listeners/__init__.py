"""Bolt listeners, one `register(app, services)` per kind, as in Slack's starter template."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, coupon_actions, events, links, shortcuts, workflow_step
from bot.services import Services


def register_listeners(app: App, services: Services, *, member_care_hosts: frozenset[str] = frozenset()) -> None:
    """`member_care_hosts`: whose links unfold (`COUPONS_MEMBER_CARE_HOSTS`)."""
    for module in (commands, actions, events, shortcuts, coupon_actions, workflow_step):
        module.register(app, services)
    links.register(app, services, hosts=member_care_hosts)
