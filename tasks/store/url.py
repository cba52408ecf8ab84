"""The store URL, parsed once: which backend, which SQLite file or PostgreSQL database.

`StoreURL.parse` is the only reader of DOCFLOW_STORE_URL (and of the bench's
`--store-url`): settings validate through it, `open_store` picks the backend by its
`kind`, the SQLite store takes its `path`, and anything shown to people is `masked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from tasks.errors import ConfigError
from tasks.masking import mask_secrets

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
HINT = "use sqlite:///path/to/docflow.db or postgresql://user[:password]@host[:port]/database"

StoreKind = Literal["sqlite", "postgresql"]


class BadStoreURL(ConfigError):
    """A store URL docflow cannot use; `reason` is the message without the setting's name."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}", hint=HINT)
        self.reason = reason


@dataclass(frozen=True)
class StoreURL:
    """One parsed store URL. Its repr and str never show the password."""

    url: str = field(repr=False)
    kind: StoreKind
    #: the SQLite file (relative to the working folder unless absolute); None for PostgreSQL
    path: Path | None = None
    #: the PostgreSQL database name ("" when the URL names none); None for SQLite
    database: str | None = None

    @classmethod
    def parse(cls, url: str, *, setting: str = "DOCFLOW_STORE_URL") -> StoreURL:
        """The parsed URL, or a BadStoreURL naming `setting` and saying what is wrong.

        `sqlite:///data/docflow.db` is the relative file `data/docflow.db`,
        `sqlite:////srv/docflow.db` the absolute `/srv/docflow.db`.
        """
        head, colon, rest = url.partition(":")
        scheme = head.lower() if colon else ""
        if scheme == "sqlite":
            if not url.startswith(SQLITE_PREFIX):
                raise BadStoreURL(
                    setting, f"{mask_secrets(url)!r} is not a sqlite:/// URL (three slashes)"
                )
            file = url[len(SQLITE_PREFIX) :]
            if not file:
                raise BadStoreURL(setting, "sqlite:/// names no file")
            return cls(url=url, kind="sqlite", path=Path(file))
        if scheme in POSTGRES_SCHEMES and rest.startswith("//"):
            parts = _split(url, setting)
            return cls(url=url, kind="postgresql", database=unquote(parts.path.lstrip("/")))
        if scheme in POSTGRES_SCHEMES:
            raise BadStoreURL(setting, f"{mask_secrets(url)!r} is not a postgresql:// URL")
        raise BadStoreURL(
            setting, f"must start with sqlite:/// or postgresql:// (got {scheme or 'no'} scheme)"
        )

    @property
    def masked(self) -> str:
        """The URL with its password replaced by ***, safe to print or log."""
        return mask_secrets(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def with_database(self, name: str) -> str:
        """The same PostgreSQL server, user and options, another database."""
        if not self.is_postgres:
            raise ConfigError(f"{self.masked} is not a postgresql:// URL", hint=HINT)
        return urlunsplit(_split(self.url, "store URL")._replace(path=f"/{name}"))

    def __str__(self) -> str:
        return self.masked


def _split(url: str, setting: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise BadStoreURL(setting, f"cannot read {mask_secrets(url)!r}: {exc}") from None


__all__ = ["HINT", "BadStoreURL", "StoreKind", "StoreURL"]
