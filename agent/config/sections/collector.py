"""[collector]: where the service pushes heartbeats and records (docs/collector-api.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.schema import Duration, SecretRef


def _url(value: str) -> str | None:
    if value and not (value.startswith("https://") or value.startswith("http://")):
        return 'must start with "https://" (or "http://" for a loopback test collector)'
    return None


@dataclass
class CollectorSection:
    # Base URL of the collector, e.g. "https://giamsat.quangninh.gov.vn". Empty = do not push
    # (the service still polls, keeps its outbox and serves `check`/`status`).
    url: str = field(default="", metadata={"check": _url})
    # The room token (a file holding only the token, chmod 600) or the systemd credential
    # "collector-token" (LoadCredential=collector-token:/etc/credstore/hntht-collector-token).
    token_file: SecretRef | None = field(default=None, metadata={"credential": "collector-token"})
    # CA bundle that signed the collector's certificate; empty = the system trust store.
    ca_file: str = ""
    # Optional client certificate (mutual TLS): PEM certificate and its key.
    client_cert_file: str = ""
    client_key_file: str = ""
    # Heartbeat period; the collector marks the room offline after 3 missed intervals.
    heartbeat_interval: Duration = field(default=Duration(30.0), metadata={"min": 1.0, "max": 3600.0})
    # Deadlines of one request: TCP+TLS connect, then waiting for the answer.
    connect_timeout: Duration = field(default=Duration(5.0), metadata={"min": 0.1, "max": 60.0})
    timeout: Duration = field(default=Duration(15.0), metadata={"min": 0.1, "max": 300.0})
    # Batch limits of POST /api/v1/records (the collector refuses more than 500 / 256 KiB).
    batch_max_records: int = field(default=500, metadata={"min": 1, "max": 500})
    batch_max_bytes: int = field(default=262144, metadata={"min": 4096, "max": 262144})
    # Compress request bodies with gzip.
    gzip: bool = True
    # Longest wait between retries (exponential backoff with full jitter up to this cap).
    backoff_max: Duration = field(default=Duration(300.0), metadata={"min": 0.1, "max": 3600.0})
    # First retry delay of the backoff.
    backoff_base: Duration = field(default=Duration(2.0), metadata={"min": 0.01, "max": 60.0})

    def validate(self, prefix: str, ctx) -> None:
        from agent.errors import ConfigError

        if bool(self.client_cert_file) != bool(self.client_key_file):
            raise ConfigError("client_cert_file and client_key_file go together; set both or neither",
                              file=ctx.file, key=f"{prefix}.client_cert_file")
        if self.url and self.token_file is None:
            raise ConfigError(
                "a collector url is set but no room token: set `token_file = \"/etc/hntht-agent/collector-token\"` "
                "or load the systemd credential 'collector-token' (LoadCredential=collector-token:PATH)",
                file=ctx.file, key=f"{prefix}.token_file")
        if self.url.startswith("http://"):
            from urllib.parse import urlsplit

            host = urlsplit(self.url).hostname or ""
            if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
                raise ConfigError("plain http:// is allowed for a loopback test collector only; use https://",
                                  file=ctx.file, key=f"{prefix}.url")
