"""Measurements too slow for ``make bench-quick`` (a fresh clone's ``make test``, runs against the local stack):
the scripts that take them write their goal line here with the date and command, and ``make bench-quick`` prints
it labelled as recorded, never as re-measured. The file is ``docs/benchmarks/recorded.json`` (committed)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "docs" / "benchmarks" / "recorded.json"


def load() -> dict[str, dict[str, Any]]:
    if not RECORDED.exists():
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(RECORDED.read_text())
    return loaded


def record(name: str, value: str, goal: str, *, met: bool, command: str, why: str = "") -> None:
    """Keep ``name``'s latest measurement (value, goal, verdict, UTC date, the command that took it)."""
    entries = load()
    entries[name] = {
        "value": value,
        "goal": goal,
        "met": met,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "why": why,
    }
    RECORDED.parent.mkdir(parents=True, exist_ok=True)
    RECORDED.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")


def line(name: str) -> str:
    """``name value goal met|missed (recorded <date> by `<command>`, not re-measured)``, or a missed line."""
    entry = load().get(name)
    if entry is None:
        return f"{name} not-measured - missed: nothing recorded in {RECORDED.name}"
    verdict = "met" if entry["met"] else "missed"
    why = f": {entry['why']}" if entry.get("why") and not entry["met"] else ""
    return (
        f"{name} {entry['value']} {entry['goal']} {verdict}{why} "
        f"(recorded {entry['date']} by `{entry['command']}`, not re-measured)"
    )
