"""The portable error record (``{"name", "message", "code", "data"}``) and
``PortableWorkflowError``, the exception it reads back as."""

from __future__ import annotations

from typing import Any

_CODE_ATTRIBUTES = ("code", "error_code", "errno", "status", "status_code")
_DATA_ATTRIBUTES = ("data", "details", "payload", "extra", "meta", "metadata")


class PortableWorkflowError(Exception):
    """An error stored in portable JSON (``{"name", "message", "code", "data"}``), as read
    back: possibly raised by code in another language. ``str()`` is the bare message."""

    def __init__(
        self, message: str, name: str, code: int | str | None = None, data: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.code = code
        self.data = data

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"PortableWorkflowError(message={self.message!r}, name={self.name!r}, "
            f"code={self.code!r}, data={self.data!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PortableWorkflowError):
            return NotImplemented
        return self.to_error_data() == other.to_error_data()

    __hash__ = Exception.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (PortableWorkflowError, (self.message, self.name, self.code, self.data))

    def to_error_data(self) -> dict[str, Any]:
        """The portable record: ``{"name", "message", "code", "data"}``."""
        return {"name": self.name, "message": self.message, "code": self.code, "data": self.data}


def _first_attribute(error: BaseException, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(error, name, None)
        if value is not None:
            return value
    return None


def portable_error_data(error: BaseException) -> dict[str, Any]:
    """The portable record of any exception (a foreign ``PortableWorkflowError`` keeps its
    own name)."""
    if isinstance(error, PortableWorkflowError):
        return error.to_error_data()
    code = _first_attribute(error, _CODE_ATTRIBUTES)
    return {
        "name": type(error).__name__,
        "message": str(error),
        "code": code if isinstance(code, (int, str)) else None,
        "data": _first_attribute(error, _DATA_ATTRIBUTES),
    }


def error_from_data(value: Any) -> BaseException | None:
    """The ``PortableWorkflowError`` a portable record stands for, or None if it is not one."""
    if isinstance(value, dict) and "name" in value and "message" in value:
        return PortableWorkflowError(
            str(value["message"]), str(value["name"]), value.get("code"), value.get("data")
        )
    return None
