"""Turning telemetry on from the configuration: the tracer and its OTLP exporters, the
OTLP log handler, and the process's active ``Tracing`` (what ``DBOS.span`` and
``DBOS.tracer`` use).

``enable_otlp`` without the ``otel`` extra installed logs one warning and traces nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from transact._telemetry.attributes import AttributeFormat, Attributes
from transact._telemetry.hook import NO_TRACING, Tracing

logger = logging.getLogger("transact")

# The loggers whose records go over OTLP: the library's and DBOS's (``DBOS.logger``).
LOGGER_NAMES = ("transact", "dbos")


@attrs.frozen
class TelemetrySettings:
    """The validated telemetry keys of a ``DBOSConfig``."""

    enabled: bool = False
    traces_endpoints: tuple[str, ...] = ()
    logs_endpoints: tuple[str, ...] = ()
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    attribute_format: AttributeFormat = "legacy"
    log_level: str = "INFO"


def telemetry_settings(config: Mapping[str, Any]) -> TelemetrySettings:
    """Read ``enable_otlp``, ``otlp_traces_endpoints``, ``otlp_logs_endpoints``,
    ``otlp_attributes``, ``otel_attribute_format`` and ``otlp_log_level``; ``ValueError``
    naming a bad one."""
    fmt: AttributeFormat
    given = config.get("otel_attribute_format") or "legacy"
    if given == "legacy":
        fmt = "legacy"
    elif given == "semconv":
        fmt = "semconv"
    else:
        raise ValueError(f"otel_attribute_format must be 'legacy' or 'semconv', got {given!r}")
    endpoints = {}
    for key in ("otlp_traces_endpoints", "otlp_logs_endpoints"):
        value = config.get(key) or []
        if isinstance(value, str) or not all(isinstance(e, str) for e in value):
            raise ValueError(f"{key} must be a list of URLs, got {value!r}")
        endpoints[key] = tuple(value)
    attributes = config.get("otlp_attributes") or {}
    if not isinstance(attributes, dict):
        raise ValueError(f"otlp_attributes must be a dict of strings, got {attributes!r}")
    return TelemetrySettings(
        enabled=bool(config.get("enable_otlp")),
        traces_endpoints=endpoints["otlp_traces_endpoints"],
        logs_endpoints=endpoints["otlp_logs_endpoints"],
        attributes={str(k): str(v) for k, v in attributes.items()},
        attribute_format=fmt,
        log_level=str(config.get("otlp_log_level") or config.get("log_level") or "INFO"),
    )


class Telemetry:
    """What ``launch`` started: the tracing hook, and what to stop at ``destroy``."""

    def __init__(self, tracing: Tracing, log_provider: Any = None, handler: Any = None) -> None:
        self.tracing = tracing
        self._log_provider = log_provider
        self._handler = handler

    def shutdown(self) -> None:
        """Flush every exporter and detach the log handler."""
        global _active
        if self._handler is not None:
            for name in LOGGER_NAMES:
                logging.getLogger(name).removeHandler(self._handler)
        if self._log_provider is not None:
            self._log_provider.shutdown()
        self.tracing.shutdown()
        if _active is self.tracing:
            _active = NO_TRACING


_active: Tracing = NO_TRACING


def active_tracing() -> Tracing:
    """The launched process's tracing hook (``NO_TRACING`` when off or not launched)."""
    return _active


def start(
    settings: TelemetrySettings,
    *,
    application_name: str,
    application_version: str,
    executor_id: str,
    workflow_id: Callable[[], str | None] = lambda: None,
) -> Telemetry:
    """Start tracing and log export as ``settings`` ask; tracing off gives ``NO_TRACING``.
    ``workflow_id`` names the running workflow (for exported log records)."""
    global _active
    if not settings.enabled:
        return Telemetry(NO_TRACING)
    try:
        from transact._telemetry import exporters
        from transact._telemetry.otel import OtelTracing
    except ImportError:
        logger.warning(
            "enable_otlp is set but OpenTelemetry is not installed (pip install "
            "'transact[otel]'): nothing is traced or exported"
        )
        return Telemetry(NO_TRACING)
    attributes = Attributes(
        settings.attribute_format,
        application_id=application_name,
        application_version=application_version,
        executor_id=executor_id,
        extra=settings.attributes,
    )
    tracer, provider = exporters.tracer(application_name, settings.traces_endpoints)
    tracing = OtelTracing(tracer, attributes, provider)
    record_attributes = {
        "applicationID": application_name,
        "applicationVersion": application_version,
        "executorID": executor_id,
        **settings.attributes,
    }
    log_provider, handler = exporters.log_handler(
        application_name,
        settings.logs_endpoints,
        settings.log_level,
        record_attributes,
        workflow_id,
    )
    if handler is not None:
        for name in LOGGER_NAMES:
            logging.getLogger(name).addHandler(handler)
    _active = tracing
    return Telemetry(tracing, log_provider, handler)
