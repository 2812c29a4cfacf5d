"""What a user would pick instead: the obvious Bolt app. `/coupons <id> [case]` → Capillary → counts and the first
ten coupons per group. No profile, no cache, no buttons, no limits. Same environment names as the coupons bot.

    SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… CAPILLARY_BASE_URL=… CAPILLARY_USERNAME=… CAPILLARY_PASSWORD=… \
        python benchmarks/naive_bot.py        # Bolt's own HTTP server on $PORT (3000)
"""

import base64
import hashlib
import json
import os
from datetime import UTC, datetime

import httpx
from slack_bolt import App
from slack_sdk import WebClient

app = App(
    client=WebClient(os.environ["SLACK_BOT_TOKEN"], base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
)
digest = hashlib.md5(os.environ["CAPILLARY_PASSWORD"].encode()).hexdigest()
auth = base64.b64encode(f"{os.environ['CAPILLARY_USERNAME']}:{digest}".encode()).decode()
capillary = httpx.Client(base_url=os.environ["CAPILLARY_BASE_URL"], headers={"Authorization": f"Basic {auth}"})


def group(coupon: dict, now: str) -> str:
    if coupon.get("redemptionsLeft") == 0 or coupon.get("isRedeemed"):
        return "Redeemed"
    if (coupon.get("validTill") or "9999") < now:
        return "Expired"
    return "Upcoming" if (coupon.get("activeFrom") or "") > now else "Active"


@app.command("/coupons")
def coupons(ack, command, respond):
    ack()
    customer_id, *case = command["text"].split()
    answer = capillary.get(f"v2/customers/{customer_id}/coupons", params={"coupon_code_case": (case or ["lower"])[0]})
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    groups: dict[str, list[dict]] = {}
    for coupon in json.loads(answer.content)["entity"]:
        groups.setdefault(group(coupon, now), []).append(coupon)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": f"Coupons of {customer_id}"}}]
    for name, members in groups.items():
        lines = [f"`{c['code']}` {c.get('seriesName', '')} until {c.get('validTill', '—')}" for c in members[:10]]
        text = f"*{name}: {len(members)}*\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    respond(blocks=blocks, text=f"Coupons of {customer_id}")


if __name__ == "__main__":
    app.start(port=int(os.environ.get("PORT", "3000")))
