"""The App Home tab: the integration status dashboard, or a short note for non-admins."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ledger_names import capital, ledger_name
from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    block_id,
    context,
    data,
    escape,
    ledger_words,
    mrkdwn,
    mrkdwn_section,
    outage_words,
    slack_date,
)
from bot.slack.failed_list import view_and_retry_buttons
from bot.slack.ids import Ids
from bot.slack.pause_message import pause_words
from sync_engine.results import Status

HOME_VALUE = "home"


def home_view(status: Status, *, queue_total: int, list_link: str | None, nonce: str) -> View:
    """Counts by state and error class, last success, the gateway's last answer, the buttons."""
    blocks: list[Block] = [
        HeaderBlock(text="Accounting sync status", block_id=block_id(Ids.HOME_HEADER, nonce)),
        fields_section(
            {**status.by_state, "parked": status.parked}, block_id(Ids.HOME_STATES, nonce)
        ),
        mrkdwn_section("*Failed queue by error class*", block_id(Ids.HOME_CLASSES, nonce, 0)),
        fields_section(status.by_error_class, block_id(Ids.HOME_CLASSES, nonce, 1)),
        mrkdwn_section(gateway_text(status), block_id(Ids.HOME_GATEWAY, nonce)),
        ActionsBlock(
            elements=view_and_retry_buttons(queue_total, HOME_VALUE, "dashboard", status.ledger),
            block_id=block_id(Ids.HOME_ACTIONS, nonce),
        ),
    ]
    if list_link:
        blocks.append(
            context([f"Failed-records list posted: {list_link}"], block_id(Ids.HOME_LINK, nonce))
        )
    return View(type="home", callback_id=Ids.HOME_VIEW, blocks=blocks)


def fields_section(counts: dict[str, int], bid: str) -> SectionBlock:
    """Up to ten labelled counts, two columns."""
    fields = [mrkdwn(f"*{escape(name)}*\n{n}") for name, n in list(counts.items())[:10]]
    return SectionBlock(fields=fields, block_id=bid)


def gateway_text(status: Status) -> str:
    """The last successful sync and the gateway's last answer (what, when)."""
    answer = (
        data(status.last_gateway_answer, MAX_ERROR_CHARS)
        if status.last_gateway_answer
        else "none yet"
    )
    paused = pause_words(status.paused)
    pause_line = f"{paused}\n" if paused else ""
    return (
        f"{ledger_words(status.ledger)}\n"
        f"{outage_words(status.outage, status.ledger)}\n"
        f"{pause_line}"
        f"*Last successful sync:* {slack_date(status.last_success_at, 'never')}\n"
        f"*{escape(capital(ledger_name(status.ledger)))}'s last answer:* {answer} "
        f"({slack_date(status.last_gateway_answer_at, 'never')})"
    )


def home_refused(nonce: str) -> View:
    """What a person who is not an administrator sees: no figures at all."""
    text = (
        "syncbot helps the finance administrators get failed accounting syncs into the ledger. "
        "Only they can see records and retry them; ask one of them if you need access."
    )
    return View(
        type="home",
        callback_id=Ids.HOME_VIEW,
        blocks=[mrkdwn_section(text, block_id(Ids.HOME_NOTE, nonce))],
    )
