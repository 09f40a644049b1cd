"""hntht-collector: the central collector and readiness board of the HNTHTT agents.

Rooms push heartbeats and record batches over the protocol in docs/collector-api.md; operators
read every room's state on one web page. All state lives in the database (SQLite or PostgreSQL), so
any number of collector processes can serve the same rooms.
"""

__version__ = "0.1.0"
