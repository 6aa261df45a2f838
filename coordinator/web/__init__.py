"""The live web dashboard (``callfleet web``; ``up --web`` and ``load --web`` serve it beside
what they start): the fleet and its load runs in a browser, fed by the coordinator as an
ordinary client.

- ``fleetstate``, ``runstate``, ``tail``: what the page shows, kept from what the coordinator
  says (pure, no I/O): agents with their lifecycle, runs with their rows, reports and verdicts,
  the recent events.
- ``source``: the one connection to the coordinator (status once a second, a subscription to
  every event, the control requests).
- ``security``: loopback by default, a token elsewhere, CSRF and origin checks.
- ``server``: the aiohttp application (page, WebSocket batched once a second, report
  downloads, control); ``static/`` holds the page, its script and the vendored uPlot.
"""
