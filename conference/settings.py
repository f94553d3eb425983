"""Configuration in one place: a pydantic settings model.

Values come from ``CONFERENCE_*`` environment variables and from command-line
flags (which win), and are validated once at start-up so that a typo fails with
a clear message instead of half-way through a meeting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from conference.cluster.placement_rules import PlacementRules

VideoCodec = Literal["vp8", "h264"]

# Private LANs, where cameras are (anpr_feed/sources.py refuses loopback and the like).
DEFAULT_CAMERA_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
)
_SYSTEM_DIRS = ("/proc", "/dev", "/sys", "/etc", "/boot")


def _has_control_or_space(text: str) -> bool:
    """Whether ``text`` would end a line or a word where it goes (a request, a header, a link)."""
    return any(not char.isprintable() or char.isspace() for char in text)


class IceServer(BaseModel):
    """A STUN or TURN server, as in the browser's ``RTCIceServer`` dictionary."""

    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_url_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _known_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(
                    f"ICE server URL must start with stun:, stuns:, turn: or turns: ({url!r})"
                )
            if _has_control_or_space(url):
                raise ValueError(f"ICE server URL has a control or space character ({url!r})")
        return urls


class Settings(BaseSettings):
    """Every setting of the service; the README's "Configuration" table describes each."""

    model_config = SettingsConfigDict(env_prefix="CONFERENCE_", extra="ignore")

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = Field(
        None, description="Base URL printed in join links, e.g. https://hop.thainguyen.gov.vn"
    )
    cert: Path | None = None
    key: Path | None = None
    self_signed: bool = False
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description='JSON list, e.g. [{"urls": "stun:stun.example.org:3478"}]',
    )
    default_codec: VideoCodec = "vp8"
    thumbnail_slots: int = Field(8, ge=0, le=8)
    audio_slots: int = Field(3, ge=1, le=3)
    ws_max_message_bytes: int = Field(64 * 1024, ge=1024, le=1024 * 1024)
    http_idle_timeout: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="seconds a connection has to send a complete request head after it opens "
        "or after its previous response (idle keep-alive and half-sent requests alike), and to "
        "finish a TLS handshake",
    )
    http_body_timeout: float = Field(
        120.0, gt=0, le=3600, description="seconds a request's body has to arrive in full"
    )
    http_max_connections_per_address: int = Field(
        200,
        ge=0,
        description="open connections one client address (an IPv6 /64) may hold; more are "
        "closed at once (0: no limit; raise it behind a reverse proxy)",
    )
    http_max_connections: int = Field(
        0,
        ge=0,
        description="open connections in all (0: half the file descriptor limit, the rest is "
        "kept for media sockets and files)",
    )
    token_ttl_default: str = "8h"
    log_level: str = "INFO"
    recording_min_free_mb: int = Field(
        1024,
        ge=0,
        description="stop recording (cleanly) when the disk has less free space than this",
    )
    documents_max_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1024,
        le=2 * 1024 * 1024 * 1024,
        description="the largest document a host may upload to a meeting, in bytes",
    )
    recording_retention_days: int = Field(
        365, ge=0, description="recordings older than this are deleted (0: keep forever)"
    )
    anpr_retention_days: int = Field(
        90,
        ge=0,
        description="plate events and their pictures older than this are deleted (0: keep)",
    )
    max_feeds: int = Field(
        16,
        ge=0,
        le=1000,
        description="camera feeds that may be registered in all (one takes about a core at "
        "720p25 and some 180 MiB): size it to the machine",
    )
    max_feeds_per_unit: int = Field(
        8, ge=0, le=1000, description="camera feeds that may be registered for one unit"
    )
    metrics_token: str | None = Field(
        None,
        description="bearer token for /metrics from other machines (at least 32 characters); "
        "without it, /metrics answers only on the machine itself",
    )
    login_workers: int = Field(
        1,
        ge=1,
        le=16,
        description="threads that check passwords (scrypt: about 0.1 s of a core and 32 MiB "
        "each), off the event loop that carries the meetings",
    )
    login_queue: int = Field(
        16,
        ge=0,
        le=1000,
        description="logins that may wait for a password thread; more are answered 503 with "
        "Retry-After at once",
    )
    login_free_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="login attempts for one account from one address before each next one "
        "waits (LOGIN_DELAY, doubling)",
    )
    login_delay: float = Field(
        1.0, gt=0, le=3600, description="seconds of the first wait, doubled after each attempt"
    )
    login_max_delay: float = Field(
        300.0, gt=0, le=86400, description="the longest wait between login attempts"
    )
    large_room_sites: int = Field(
        50,
        ge=2,
        description="above this many sites, sites get a count instead of every join and leave",
    )
    timezone: str = Field("Asia/Ho_Chi_Minh", description="for times given without an offset")
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db: keep state in Redis and pass room events through it",
    )
    redis_prefix: str = Field(
        "conference:", min_length=1, max_length=64, description="key and channel prefix in Redis"
    )
    node_id: str | None = Field(
        None,
        description="this node's id in the cluster registry (with redis_url; default "
        "HOSTNAME-PORT)",
    )
    machine: str | None = Field(
        None,
        description="set by `serve --workers N` in its workers: the machine's node id, which "
        "placement rules name to reach its workers",
    )
    advertise: str | None = Field(
        None,
        description="the base URL browsers and WHIP clients reach this node at, "
        "http(s)://host[:port] (with redis_url; default: public_url, else from host and port)",
    )
    placement: str | None = Field(
        None,
        description="UNIT=NODE pairs, comma-separated: a meeting convened by the unit or a "
        "unit below it gets its home on that node (with redis_url)",
    )
    placement_fallback: str = Field(
        "here",
        description="where a meeting no placement rule covers lives: here (the node its first "
        "site reached) or load (the live node with the fewest sites)",
    )
    cascade: Literal["off", "spread"] = Field(
        "off",
        description="where a browser site of a meeting whose home is another node is served: "
        "off (sent to the home) or spread (served here, its media relayed between the "
        "nodes; with redis_url; serve --workers sets spread)",
    )
    relay_host: str = Field(
        "127.0.0.1",
        description="numeric address the relay socket binds and other nodes reach it at "
        "(with redis_url)",
    )
    relay_port: int = Field(
        0, ge=0, le=65535, description="UDP port of the relay socket (0: one the system picks)"
    )
    camera_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CAMERA_NETWORKS),
        description="CIDRs camera feeds may connect to (comma-separated or a JSON list); "
        "loopback, link-local, metadata and multicast only when listed themselves",
    )
    media_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="UDP port every peer's media uses: one socket per local address, drained "
        "many datagrams a wake-up (0: a port the system picks; unset or off: a socket per "
        "connection on a random port)",
    )
    feed_files_dir: Path | None = Field(
        None, description="the only folder file feeds are read from (default DATA_DIR/feed-files)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://")
        if value and not value.startswith("unix://"):
            from urllib.parse import urlsplit

            # Never quote the URL or redis-py's own error: either shows part of the password.
            try:
                parts = urlsplit(value)
                valid = bool(parts.hostname) and parts.port != 0
            except ValueError:
                valid = False
            if not valid:
                raise ValueError(
                    "redis_url is not a valid URL: percent-encode / # ? @ : in the user name "
                    "and password (%2F %23 %3F %40 %3A)"
                ) from None
            if parts.path.strip("/") and not parts.path.strip("/").isdigit():
                raise ValueError("redis_url: the database after the host must be a number")
        return value or None

    @field_validator("relay_host")
    @classmethod
    def _numeric_relay_host(cls, value: str) -> str:
        import ipaddress

        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"relay_host must be a numeric IP address ({value!r})") from None

    @field_validator("node_id", "machine")
    @classmethod
    def _plain_node_id(cls, value: str | None) -> str | None:
        from conference.cluster.advertise import check_node_id

        return check_node_id(value) if value else None

    @field_validator("advertise")
    @classmethod
    def _base_url_only(cls, value: str | None) -> str | None:
        from conference.cluster.advertise import check_advertise

        return check_advertise(value) if value else None

    @model_validator(mode="after")
    def _placement_rules(self) -> Settings:
        from conference.cluster.placement_rules import PlacementRules

        PlacementRules.parse(self.placement, self.placement_fallback)  # ValueError if not
        return self

    def placement_rules(self) -> PlacementRules:
        """The placement rules of ``placement`` and ``placement_fallback``."""
        from conference.cluster.placement_rules import PlacementRules

        return PlacementRules.parse(self.placement, self.placement_fallback)

    @field_validator("media_port", mode="before")
    @classmethod
    def _media_port_off(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none"):
            return None
        return value

    @field_validator("camera_networks", mode="before")
    @classmethod
    def _networks_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.replace(",", " ").split() if part]
        return value

    @field_validator("camera_networks")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        import ipaddress

        networks = []
        for text in value:
            try:
                networks.append(str(ipaddress.ip_network(text.strip())))
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a network (CIDR such as 10.0.0.0/8)") from exc
        return networks

    @field_validator("feed_files_dir")
    @classmethod
    def _not_a_system_folder(cls, value: Path | None) -> Path | None:
        import os

        if value is not None:
            real = os.path.realpath(value)
            if real == "/" or any(real == d or real.startswith(d + "/") for d in _SYSTEM_DIRS):
                raise ValueError(f"{real} is a system folder, not a folder of video files")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) < 32 or not value.isascii() or not value.isprintable() or " " in value:
            raise ValueError(
                "metrics_token must be at least 32 printable ASCII characters without spaces "
                "(e.g. from `openssl rand -hex 32`)"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        if _has_control_or_space(value):
            raise ValueError("public_url has a control or space character")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _tls_choice(self) -> Settings:
        if (self.cert is None) != (self.key is None):
            raise ValueError("--cert and --key go together")
        if self.cert is not None and self.self_signed:
            raise ValueError("choose either --cert/--key or --self-signed, not both")
        for path in (self.cert, self.key):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file not found: {path}")
        return self

    @property
    def recordings_dir(self) -> Path:
        """Where recordings are kept."""
        return self.data_dir / "recordings"

    @property
    def documents_dir(self) -> Path:
        """Where meetings' documents are kept."""
        return self.data_dir / "documents"

    @property
    def feed_files(self) -> Path:
        """The folder file feeds are read from (and only from)."""
        return (
            self.feed_files_dir if self.feed_files_dir is not None else self.data_dir / "feed-files"
        )

    @property
    def tls(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.cert is not None or self.self_signed

    @property
    def clustered(self) -> bool:
        """Whether this process is a cluster node (it has Redis)."""
        return self.redis_url is not None

    def cluster_node_id(self) -> str:
        """This node's id: ``node_id``, else ``HOSTNAME-PORT``."""
        from conference.cluster.advertise import default_node_id

        return self.node_id or default_node_id(self.port)

    def advertise_url(self) -> str:
        """Where sites are sent to reach this node: ``advertise``, else :meth:`base_url`."""
        return self.advertise or self.base_url()

    def base_url(self) -> str:
        """The URL people open, used in join links."""
        if self.public_url:
            return self.public_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}"
