"""A real tagger whose spaCy pipeline ends in a component that raises on marker texts.

`INTERRUPT-ME` raises `Interrupted` (like Celery's SoftTimeLimitExceeded: an Exception
raised *into* the model call, not a model error); `BREAK-ME` raises the ValueError spaCy
raises when it cannot read a text.
"""

from __future__ import annotations

from tasks.tag import Tagger

COMPONENT = "docflow_test_tripwire"


class Interrupted(Exception):
    """Like Celery's SoftTimeLimitExceeded: an Exception raised *into* the model call."""


def tripwired_tagger() -> Tagger:
    from spacy.language import Language
    from spacy.tokens import Doc

    if COMPONENT not in Language.factories:

        @Language.component(COMPONENT)
        def tripwire(doc: Doc) -> Doc:
            if "INTERRUPT-ME" in doc.text:
                raise Interrupted("soft time limit exceeded")
            if "BREAK-ME" in doc.text:
                raise ValueError("[E999] the model cannot read this text")
            return doc

    fresh = Tagger()
    fresh._nlp.add_pipe(COMPONENT, last=True)
    return fresh
