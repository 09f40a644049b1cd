"""[check]: how long `hntht-agent check` may take."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.schema import Duration


@dataclass
class CheckSection:
    # Whole checklist budget: every probe is cut at its own deadline and the report still comes out.
    budget: Duration = field(default=Duration(15.0), metadata={"min": 1.0, "max": 120.0})
    # Hard deadline of each probe, unless the probe's own section sets a shorter one.
    probe_deadline: Duration = field(default=Duration(12.0), metadata={"min": 0.5, "max": 120.0})
