"""The Slack front door: Bolt listeners, Block Kit builders, authorization and the HTTP server.

Listeners are thin (ack, authorize, one engine call, render); Block Kit is built by pure
functions; long work runs on the bot's own executor, never on Bolt's listener pool.
"""
