"""The one rule that hides secrets in text shown to people or written to logs.

`mask_secrets` replaces every password it can recognise by `***` and leaves every other
character as it was, so it is safe on a URL, a libpq conninfo string or a whole log line:

* the password of a URL: `scheme://user:PASSWORD@host` and `scheme://:PASSWORD@host`
  (everything between the first `:` and the last `@` of the authority, as `urlsplit`
  reads it, so an unencoded `@` or `:` inside the password is hidden too);
* `password=`, `passwd=`, `sslpassword=`, `pwd=`, `secret=`, `token=` and `api_key=`
  pairs, in a query string (`?password=x&...`), a conninfo string (`password=x user=y`,
  `password='a b'`) or free text (`password: x`).

Both patterns cost time linear in the text: the URL one starts only at `://` and never
crosses a `/`, so no two attempts scan the same characters; the pair one starts only at a
keyword. `mask_url` is the same function under the name its callers know.
"""

from __future__ import annotations

import re

MASK = "***"

#: `://` + user + `:` then the password up to the authority's last `@`
_URL_PASSWORD = re.compile(r"(://[^\s/?#@:]*+:)[^\s/?#]*@")
#: a secret key, its separator, then a quoted (libpq/JSON style) or bare value
_PAIR_SECRET = re.compile(
    r"""(?i)\b((?:ssl)?(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key)["']?\s*[=:]\s*)"""
    r"""('(?:[^'\\\n]|\\.)*+'|"(?:[^"\\\n]|\\.)*+"|["']?[^\s&"',;]+)"""
)


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group(2)
    quote = value[0] if value[0] in "'\"" and len(value) > 1 and value[-1] == value[0] else ""
    return f"{match.group(1)}{quote}{MASK}{quote}"


def mask_secrets(text: str | None) -> str:
    """The text with every password (URL userinfo, `password=` pairs, ...) replaced by ***.

    None and "" give "", so an unset URL can be shown as it is.
    """
    if not text:
        return ""
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    return _PAIR_SECRET.sub(_mask_pair, text)


#: the name the callers that show a URL use: the same rule, not a second one
mask_url = mask_secrets

__all__ = ["MASK", "mask_secrets", "mask_url"]
