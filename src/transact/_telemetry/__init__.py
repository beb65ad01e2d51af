"""Telemetry: in-process metrics (the admin server's ``/metrics``) and OpenTelemetry
traces and logs (``enable_otlp``).

The runtime sees only the narrow hooks of ``hook.py``: a ``Tracing`` object (the no-op
``NO_TRACING`` unless tracing is on, so tracing off costs nothing but a call that
returns a shared null context) and a ``Metrics`` object of plain counters. Everything
that imports ``opentelemetry`` lives in ``otel.py`` and ``setup.py``, imported only when
``enable_otlp`` is set, so the package works without the ``otel`` extra.
"""
