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


class QuerySyntaxError(PermanentError):
    """A search query that cannot be read; the message says why and how to write it."""


class DocumentNotFound(PermanentError):
    """No document with this id is in the store."""


class TaggingError(PermanentError):
    """The entity tagger failed on this document's text."""


class StaleRun(DocflowError):
    """A stage run lost its lease (another run owns the stage, or the document moved on).

    Neither retryable nor a document failure: nothing was written, and the run that owns
    the stage carries on. `owner` is the task id of the stage's current run (None if no
    run is recorded) and `status` the document's status when the write was refused.
    """

    def __init__(
        self, doc_id: str, stage: str, task_id: str | None, owner: str | None, status: str
    ) -> None:
        why = (
            f"the document is {status} now"
            if owner == task_id
            else f"run {owner} owns the {stage} stage now (the document is {status})"
        )
        super().__init__(
            f"the {stage} run {task_id} of document {doc_id} is stale: {why}; nothing written",
            hint="nothing to do: the run that owns the stage carries on",
        )
        self.doc_id = doc_id
        self.stage = stage
        self.task_id = task_id
        self.owner = owner
        self.status = status
