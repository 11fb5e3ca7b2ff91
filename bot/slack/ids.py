"""Every action_id, block_id and callback_id the bot uses, in one place.

Block ids in a message get a per-render nonce appended (see `blocks.block_id`), because Slack
asks for new block ids when a message is updated; the enum holds their stable prefixes.
"""

from __future__ import annotations

from enum import StrEnum

COMMAND = "/accounting"


class Ids(StrEnum):
    """Slack ids: `action_id`s, `block_id` prefixes and `callback_id`s."""

    # action_ids
    VIEW_FAILED = "view_failed"
    RETRY_SELECTED = "retry_selected"
    RETRY_ALL = "retry_all"
    PAGE_PREV = "page_prev"
    PAGE_NEXT = "page_next"
    FILTER_KIND = "filter_kind"
    FILTER_CLASS = "filter_error_class"
    ROW_CHECK = "row_check"

    # block_id prefixes
    LIST_HEADER = "list_header"
    LIST_SUMMARY = "list_summary"
    LIST_FILTERS = "list_filters"
    LIST_ROW = "list_row"
    LIST_EMPTY = "list_empty"
    LIST_ACTIONS = "list_actions"
    LIST_FOOT = "list_foot"
    LIST_DIVIDER = "list_divider"
    RESULT_HEAD = "result_head"
    RESULT_ROW = "result_row"
    RESULT_MORE = "result_more"
    RESULT_FOOT = "result_foot"
    RESULT_OUTAGE = "result_outage"
    HOME_HEADER = "home_header"
    HOME_STATES = "home_states"
    HOME_CLASSES = "home_classes"
    HOME_GATEWAY = "home_gateway"
    HOME_ACTIONS = "home_actions"
    HOME_LINK = "home_link"
    HOME_NOTE = "home_note"
    ALERT_HEAD = "alert_head"
    ALERT_SUMMARY = "alert_summary"
    ALERT_ROW = "alert_row"
    ALERT_MORE = "alert_more"
    ALERT_ACTIONS = "alert_actions"
    ANSWER = "answer"

    # callback_ids
    HOME_VIEW = "syncbot_home"
