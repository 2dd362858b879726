"""bench/results.json, results.md (tables, targets) and results.png (time vs hosts)."""

from __future__ import annotations

import json
from pathlib import Path

# Issue 7's targets, at the largest fleet measured.
MAX_FLOOR_RATIO = 1.5
MIN_PEER_SPEEDUP = 3.0
MAX_GROWTH = 12.0     # time at 50 hosts / time at 5 hosts
MAX_MEMORY_MB = 300.0


def write_all(results: dict, out: Path) -> list[Path]:
    slim = json.loads(json.dumps(results))
    for size in slim["sizes"]:
        for rows in size["raw"].values():
            for row in rows:
                row.pop("stdout_tail", None)
    (out / "results.json").write_text(json.dumps(slim, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))
    plot(results, out / "results.png")
    return [out / "results.json", out / "results.md", out / "results.png"]


def targets(results: dict) -> list[tuple[str, str, bool]]:
    sizes = results["sizes"]
    big, small = sizes[-1], sizes[0]
    sec, r = big["seconds"], big["ratios"]
    rows = [(f"fleetcheck <= {MAX_FLOOR_RATIO}x the floor",
             f"{r['fleetcheck/floor']}x", r["fleetcheck/floor"] <= MAX_FLOOR_RATIO)]
    for peer in ("testinfra", "ansible"):
        key = f"{peer}/fleetcheck"
        if key in r:
            rows.append((f">= {MIN_PEER_SPEEDUP:g}x faster than {peer}", f"{r[key]}x",
                         r[key] >= MIN_PEER_SPEEDUP))
    growth = round(sec["fleetcheck"] / small["seconds"]["fleetcheck"], 2)
    rows.append((f"{big['hosts']}-host time <= {MAX_GROWTH:g}x the {small['hosts']}-host time",
                 f"{growth}x", growth <= MAX_GROWTH))
    pss, rss = big["fleetcheck_peak_pss_mb"], big["fleetcheck_peak_rss_mb"]
    rows.append((f"controller memory <= {MAX_MEMORY_MB:g} MB (all processes)",
                 f"{pss} MB PSS ({rss} MB RSS)", rss <= MAX_MEMORY_MB))
    auto_pss = big["fleetcheck_n_auto_peak_pss_mb"]
    auto_rss = big["fleetcheck_n_auto_peak_rss_mb"]
    rows.append((f"... with -n auto (controller and workers) <= {MAX_MEMORY_MB:g} MB",
                 f"{auto_pss} MB PSS ({auto_rss} MB RSS)", auto_pss <= MAX_MEMORY_MB))
    return rows


def markdown(results: dict) -> str:
    tools = [t for t in ("fleetcheck", "fleetcheck -n auto", "floor", "testinfra", "ansible")
             if t in results["sizes"][0]["seconds"]]
    m = results["machine"]
    lines = [
        "# fleetcheck benchmark",
        "",
        f"Measured {results['when']} by `make bench` on {m['cpus']} CPUs (Python "
        f"{m['python']}, kernel {m['kernel']}); the lab's hosts run on the same machine. "
        f"Median of {results['sizes'][0]['runs']} runs, wall seconds. fleetcheck: "
        f"{results['fleetcheck_workers']}.",
        "",
        "| hosts | commands | " + " | ".join(tools)
        + " | fleetcheck/floor | testinfra/fleetcheck | ansible/fleetcheck | memory (PSS / RSS) |",
        "|---:|---:|" + "---:|" * len(tools) + "---:|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        sec, r = size["seconds"], size["ratios"]
        lines.append(
            f"| {size['hosts']} | {size['commands']} | "
            + " | ".join(f"{sec[t]:.2f}" for t in tools)
            + f" | {r['fleetcheck/floor']}x | {r.get('testinfra/fleetcheck', '-')}x"
            f" | {r.get('ansible/fleetcheck', '-')}x"
            f" | {size['fleetcheck_peak_pss_mb']} / {size['fleetcheck_peak_rss_mb']} MB |")
    lines += ["", "![time against hosts](results.png)", "", "## Targets (largest fleet)", "",
              "| target | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {name} | {value} | {'yes' if ok else 'NO'} |"
              for name, value, ok in targets(results)]
    mc, dead = results["many_checks"], results["dead_hosts"]
    lines += [
        "", "## Per-check overhead", "",
        f"{mc['checks']} sysctl checks on one host: {mc['many_checks_seconds']:.2f} s, against "
        f"{mc['one_check_seconds']:.2f} s for one: {mc['per_check_ms']} ms per check "
        f"(one `sysctl` command serves them all). {mc['summary']}.",
        "", "## Unreachable hosts", "",
        f"{dead['hosts']} hosts of which {dead['dead']} do not answer (link down; connect "
        f"timeout {dead['connect_timeout']:g} s): {dead['with_dead_seconds']:.2f} s against "
        f"{dead['healthy_seconds']:.2f} s all healthy (+{dead['extra_seconds']:.2f} s: one "
        f"timeout, paid in parallel, not one per host or per check). The floor with the "
        f"same dead hosts: {dead['floor_with_dead_seconds']:.2f} s. {dead['summary']}.",
        "", f"The whole bench took {results['bench_seconds']:.0f} s.", "",
    ]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - a bench dependency only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    sizes = results["sizes"]
    hosts = [s["hosts"] for s in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for tool, style in (("fleetcheck", "o-"), ("fleetcheck -n auto", "o:"), ("floor", "k--"),
                        ("testinfra", "s-"), ("ansible", "^-")):
        if tool in sizes[0]["seconds"]:
            ax.plot(hosts, [s["seconds"][tool] for s in sizes], style, label=tool)
    ax.set_xlabel("hosts")
    ax.set_ylabel("wall time, s (median)")
    ax.set_title("Full audit of the lab fleet")
    ax.set_xticks(hosts)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
