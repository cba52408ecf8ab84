"""One exception tree for docflow: retryable vs permanent.

Every error a user can see says what went wrong, with which file or document,
and what to do about it.
"""

from __future__ import annotations


class DocflowError(Exception):
    """Base class of every error docflow raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__

    def describe(self) -> str:
        """The message followed by what to do, on one line."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(DocflowError):
    """A setting is missing or has a value docflow cannot use."""


class RetryableError(DocflowError):
    """A temporary failure: the same work may succeed if tried again later."""


class StoreUnavailable(RetryableError):
    """The store cannot be reached or is locked right now."""


class BrokerUnavailable(RetryableError):
    """The message broker cannot be reached right now."""


class PermanentError(DocflowError):
    """A failure that retrying cannot fix: the input itself is the problem."""


class RejectedFile(PermanentError):
    """A dropped file cannot be ingested at all (size, type, encoding, content)."""


class FileTooLarge(RejectedFile):
    """The file is larger than DOCFLOW_MAX_FILE_MB."""


class UnsupportedFormat(RejectedFile):
    """The file's type is not one docflow can read."""


class UndecodableContent(RejectedFile):
    """The bytes are not text in any encoding docflow can recognise."""


class EmptyDocument(PermanentError):
    """The file or article holds no text to process."""


class ParseError(PermanentError):
    """The article's text could not be turned into a structured article."""


class DocumentNotFound(PermanentError):
    """No document with this id is in the store."""


class TaggingError(PermanentError):
    """The entity tagger failed on this document's text."""
