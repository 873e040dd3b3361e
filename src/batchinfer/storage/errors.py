"""The storage exception tree.

Every storage failure is a `StorageError` carrying a stable `code` (what API status bodies
report) and a `message` safe to show a user. Each class also inherits the nearest built-in so
callers that only know Python's own exceptions (`LookupError`, `FileExistsError`, ...) still
catch the right thing. Messages are scrubbed of SAS query strings and keys on construction, as
a last line of defence: callers should already pass redacted URLs.
"""

from __future__ import annotations

import re

_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)[?#][^\s'\"<>]*")
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@'\"<>]*@")
_SIG_PARAM = re.compile(r"(?i)\bsig=[^&\s'\"<>]*")
_KEY_SETTING = re.compile(r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;\s'\"<>]*")


def scrub_secrets(text: str) -> str:
    """Remove URL query strings, URL user-info, `sig=` values and connection-string keys."""
    text = _URL_USERINFO.sub(r"\1", text)
    text = _URL_QUERY.sub(r"\1", text)
    text = _SIG_PARAM.sub("sig=REDACTED", text)
    return _KEY_SETTING.sub(r"\1=REDACTED", text)


class StorageError(Exception):
    """Base of all storage failures; `code` is the API error code, `message` is user-safe."""

    default_code: str = "StorageError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.message: str = scrub_secrets(message)
        self.code: str = code or self.default_code
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class UrlNotAllowedError(StorageError, PermissionError):
    """A container URL is malformed or outside the allow-list; raised before any request."""

    default_code = "InvalidArgument"


class InvalidPathError(StorageError, ValueError):
    """A blob name, prefix or file-list entry is unsafe or malformed."""

    default_code = "InvalidArgument"


class BlobNotFoundError(StorageError, LookupError):
    """The blob (code `BlobNotFound`) or its container (code `ContainerNotFound`) is missing."""

    default_code = "BlobNotFound"


class BlobExistsError(StorageError, FileExistsError):
    """A create-only write found the blob already there; the existing bytes are untouched."""

    default_code = "OutputExists"


class BlobTooLargeError(StorageError, ValueError):
    """A blob is larger than the caller's `max_bytes`; refused before reading it all."""

    default_code = "InvalidContentLength"


class StorageAccessError(StorageError, OSError):
    """Authentication, authorization or transport failure talking to the store."""

    default_code = "StorageError"


class StorageConfigurationError(StorageError, ValueError):
    """An operator setting that names storage (a connection, a container URL) is unusable."""

    default_code = "InvalidConfiguration"
