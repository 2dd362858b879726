"""Remediation plans, one module per area, registered by check id (DESIGN.md
"Remediation"). The engine that applies them lives in fleetcheck/remediation/."""
