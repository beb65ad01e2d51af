"""The snippets of docs/testing.md run as written."""

from __future__ import annotations

import pathlib
import re

DOC = pathlib.Path(__file__).parents[1] / "docs" / "testing.md"


def test_testing_page_snippets_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "launched", "exec"), namespace)
    namespace["test_order"]()  # type: ignore[operator]
    exec(compile(blocks[1], "run_program", "exec"), namespace)
    namespace["test_checkout_effects"]()  # type: ignore[operator]
    exec(compile(blocks[2], "crash_everywhere", "exec"), namespace)
    namespace["test_pay_recovers_everywhere"]()  # type: ignore[operator]
    exec(compile(blocks[3], "crash_cases", "exec"), namespace)
    namespace["test_pay_recovers_for_any_amount"]()  # type: ignore[operator]
