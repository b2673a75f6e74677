"""One typed Settings object: environment variables PROCTOR_* over a TOML file over defaults."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _config_file() -> Path:
    return Path(os.environ.get("PROCTOR_CONFIG_FILE", PROJECT_ROOT / "config" / "proctor.toml"))


class Settings(BaseSettings):
    """Everything the service reads from its environment. See config/settings.example.toml."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_", extra="ignore")

    # storage
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'proctor.db'}",
        description="SQLAlchemy URL; postgresql+psycopg://… for production",
    )
    db_echo: bool = False
    blob_backend: str = Field(default="local", pattern="^(local|s3)$")
    blob_dir: Path = PROJECT_ROOT / "var" / "blobs"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str | None = None
    photo_retention_days: int = Field(default=365, ge=1)
    models_dir: Path = PROJECT_ROOT / "models"

    # tasks
    broker_url: str | None = Field(
        default=None, description="Celery broker (redis://… or amqp://…); unset = in-process tasks"
    )
    result_backend: str | None = None
    reevaluate_queue: str = Field(
        default="default", description="queue of the chunks of `proctor reevaluate` (a worker pool)"
    )
    reevaluate_chunk_learners: int = Field(default=20, ge=1, description="learners per chunk")
    # events table (PostgreSQL): monthly partitions made ahead; older ones detached and dropped
    events_partitions_ahead_months: int = Field(default=3, ge=1)
    events_retention_months: int | None = Field(
        default=None, ge=1, description="drop event partitions of sessions older than this; unset = keep"
    )
    events_compact_after_days: int | None = Field(
        default=7, ge=0, description="rewrite a month's events in session order (pg_repack) this "
        "many days after the month ends, when they lie scattered; unset = never"
    )
    redis_url: str | None = Field(
        default=None, description="Redis for replay protection and throttling; unset = database"
    )
    redis_prefix: str = "proctor:"

    # platform API
    timestamp_tolerance_s: int = 300
    max_batch_events: int = 1000
    max_body_bytes: int = 1024 * 1024
    session_token_ttl_s: int = Field(
        default=900, ge=30, le=3600, description="lifetime of a browser session token (docs/sdk.md)")
    # the reconciler (services/reconcile.py): how often it runs, and how long a task may be
    # in flight before its work counts as lost (an evaluation or a face check takes seconds)
    reconcile_every_s: float = Field(default=120.0, gt=0, description="run the reconciler "
                                     "(re-enqueue work the broker lost) every this many seconds")
    reconcile_grace_s: float = Field(default=120.0, ge=0, description="work owed for longer "
                                     "than this is re-enqueued by the reconciler")
    embedded_beat_s: float = Field(
        default=60.0, ge=0, description="without a broker: run beat's periodic work in the API "
        "process every this many seconds (0 = off)")

    # rules
    policy: str = "henan-2021"
    policy_dir: Path = PROJECT_ROOT / "config" / "policies"
    occupations_file: Path = PROJECT_ROOT / "config" / "occupations.toml"
    eligibility_file: Path = PROJECT_ROOT / "config" / "eligibility.toml"
    # paperwork (docs/paperwork.md)
    archive_key_file: Path = Field(
        default=PROJECT_ROOT / "var" / "archive_ed25519.pem",
        description="Ed25519 key that signs e-archives (made on first use; public half beside it)")
    archive_font_file: Path = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    public_base_url: str = Field(default="http://127.0.0.1:8000",
                                 description="where public notice pages are reached")

    # portal
    secret_key: str | None = Field(
        default=None, description="signs portal cookies; unset = a key kept in var/secret_key"
    )
    second_review_for_overturn: bool = Field(
        default=False, description="an overturned 'invalid' needs a second reviewer's approval")
    login_max_failures: int = Field(
        default=5, ge=1, description="failed sign-ins to one account from one address within "
        "login_window_s before that account is refused from that address")
    login_max_failures_per_account: int = Field(
        default=20, ge=1, description="failed sign-ins to one account from all addresses "
        "within login_window_s before the account is refused from everywhere")
    login_max_failures_per_ip: int = Field(
        default=100, ge=1, description="failed sign-ins from one address (to any account) within "
        "login_window_s: high, since a county office signs in from behind one NAT")
    login_window_s: int = Field(default=900, ge=1)
    trusted_proxies: str = Field(
        default="", description="comma-separated addresses or CIDR networks of the reverse "
        "proxies in front of the portal: only from these is X-Forwarded-For believed (the "
        "client is the last address in it that is not a proxy); empty = the peer's address")
    session_max_age_s: int = 8 * 3600

    # callbacks to platforms (CONTRACT §4)
    callback_max_attempts: int = 8
    callback_backoff_base_s: float = 30.0
    callback_timeout_s: float = 10.0
    callbacks_allow_private_targets: bool = Field(
        default=False, description="TESTS ONLY: let callbacks reach loopback/private addresses "
        "(a receiver on 127.0.0.1); off in production, where only public addresses are reached")

    # the county's view (docs/county.md)
    person_key: str | None = Field(
        default=None, description="HMAC key that links learners across institutions by ID "
        "number; unset = a key generated once and kept in var/person_key. Never change it "
        "without `proctor county rehash`")

    shared_dir: Path = PROJECT_ROOT.parent / "shared"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be sqlite:/// or postgresql+psycopg://")
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"trusted_proxies: {part.strip()!r} is not an address "
                                     "or a CIDR network") from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p.strip(), strict=False)
                     for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)


@lru_cache
def get_settings() -> Settings:
    return Settings()


# the key that signs portal cookies and survey respondents (services and the portal share it)
SECRET_FILE = PROJECT_ROOT / "var" / "secret_key"


def secret_key(settings: Settings, path: Path = SECRET_FILE) -> str:
    """settings.secret_key, or one generated once and kept (mode 600) in var/secret_key."""
    if settings.secret_key:
        return settings.secret_key
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
