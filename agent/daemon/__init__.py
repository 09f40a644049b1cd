"""The service (`hntht-agent run`): scheduler, events, outbox, uploader, control socket, sd_notify.

Data flows one way: probes -> normalised status -> checks and events -> outbox (SQLite) ->
uploader thread -> collector.  The asyncio loop owns the probes and the schedule; blocking work
(SQLite commits, HTTPS) runs in threads so the watchdog ping never waits on the network.
"""
