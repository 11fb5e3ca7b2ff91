"""The OAuth double's admin endpoints under /_sim/oauth/, for tests in another process.

`POST /_sim/oauth/grant` {"realm_id"?}: a token set as from Intuit's OAuth Playground;
`POST /_sim/oauth/revoke-all`: the company disconnected the app; `POST /_sim/oauth/expire`:
every access token issued so far expires now; `POST /_sim/oauth/fail` {"status", "count"?}:
the next token requests get that status; `GET /_sim/oauth/stats`: refreshes so far.
"""

from __future__ import annotations

import json

from sync_engine.gateway_sim.messages import Answer, Request, json_answer
from sync_engine.oauth_sim.endpoints import OAuthEndpoints, token_answer

PREFIX = "/_sim/oauth/"


def answer(endpoints: OAuthEndpoints, request: Request) -> Answer | None:
    """Answer an OAuth admin request, or None when `request` is not one."""
    authority = endpoints.authority
    route = (request.method, request.path.rstrip("/"))
    if route == ("POST", "/_sim/oauth/grant"):
        try:
            data = json.loads(request.body) if request.body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            data = None
        realm = data.get("realm_id") if isinstance(data, dict) else 0
        if realm is not None and not (isinstance(realm, str) and 0 < len(realm) <= 64):
            return json_answer(400, {"error": 'expected {"realm_id": "<1 to 64 chars>"}'})
        tokens = authority.grant(realm)
        answered = token_answer(authority, tokens)
        body = json.loads(answered.body)
        body["realm_id"] = tokens.realm_id
        return json_answer(200, body)
    if route == ("POST", "/_sim/oauth/revoke-all"):
        return json_answer(200, {"revoked": authority.revoke_all()})
    if route == ("POST", "/_sim/oauth/expire"):
        authority.expire_access_tokens()
        return json_answer(200, {"expired": True})
    if route == ("POST", "/_sim/oauth/fail"):
        try:
            data = json.loads(request.body)
            endpoints.fail_next(int(data["status"]), int(data.get("count", 1)))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError) as exc:
            return json_answer(400, {"error": f'expected {{"status": 503, "count": 1}}: {exc}'})
        except (TypeError, ValueError, AttributeError) as exc:
            return json_answer(400, {"error": str(exc)})
        return json_answer(200, {"failing": True})
    if route == ("GET", "/_sim/oauth/stats"):
        return json_answer(200, {"refreshes": authority.refreshes})
    return None
