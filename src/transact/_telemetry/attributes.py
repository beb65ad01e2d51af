"""DBOS's span attribute names: the legacy ones and their semantic-convention forms
(``otel_attribute_format="semconv"``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

AttributeFormat = Literal["legacy", "semconv"]

SEMCONV: Mapping[str, str] = {
    "operationUUID": "dbos.operation.workflow_id",
    "operationType": "dbos.operation.type",
    "operationName": "dbos.operation.name",
    "applicationID": "dbos.application.id",
    "applicationVersion": "dbos.application.version",
    "executorID": "dbos.executor.id",
    "queueName": "dbos.queue.name",
    "authenticatedUser": "dbos.user.name",
    "authenticatedUserRoles": "dbos.user.roles",
    "authenticatedUserAssumedRole": "dbos.user.assumed_role",
    "requestID": "dbos.request.id",
    "requestIP": "dbos.request.ip",
    "requestURL": "dbos.request.url",
    "requestMethod": "dbos.request.method",
    "responseCode": "dbos.response.status_code",
}


class Attributes:
    """Builds a span's attributes in the configured format, with the process's own
    (application, version, executor) and ``otlp_attributes`` added."""

    def __init__(
        self,
        fmt: AttributeFormat,
        *,
        application_id: str,
        application_version: str,
        executor_id: str,
        extra: Mapping[str, str],
    ) -> None:
        self.fmt = fmt
        self.base = self.named(
            {
                "applicationID": application_id,
                "applicationVersion": application_version,
                "executorID": executor_id,
            }
        )
        self.base.update(extra)

    def named(self, legacy: Mapping[str, str | None]) -> dict[str, str]:
        """``legacy`` renamed to the configured format, None values left out."""
        rename = SEMCONV if self.fmt == "semconv" else {}
        return {rename.get(k, k): v for k, v in legacy.items() if v is not None}

    def workflow(
        self,
        workflow_id: str,
        name: str,
        user: str | None,
        roles: tuple[str, ...] | None,
        queue_name: str | None,
    ) -> dict[str, str]:
        """A workflow span's attributes."""
        attributes = dict(self.base)
        attributes.update(
            self.named(
                {
                    "operationUUID": workflow_id,
                    "operationType": "workflow",
                    "operationName": name,
                    "authenticatedUser": user,
                    "authenticatedUserRoles": json.dumps(list(roles)) if roles else None,
                    "queueName": queue_name,
                }
            )
        )
        return attributes

    def handler(self, request: Mapping[str, str]) -> dict[str, str]:
        """An HTTP handler span's attributes (``request`` holds legacy names)."""
        attributes = dict(self.base)
        attributes.update(self.named({**request, "operationType": "handler"}))
        return attributes

    def operation(self, kind: str, name: str, workflow_id: str) -> dict[str, str]:
        """A step's or transaction's span attributes."""
        attributes = dict(self.base)
        attributes.update(
            self.named({"operationUUID": workflow_id, "operationType": kind, "operationName": name})
        )
        return attributes
