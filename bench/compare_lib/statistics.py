"""Medians and ranges over the repeats of one leg."""

import dataclasses
import statistics

PERCENTILES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p99.9", "p999"))


@dataclasses.dataclass
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values):
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values))


@dataclasses.dataclass
class Summary:
    """One server's figures for one scenario, over its successful repeats."""
    runs: int
    failures: list
    ops_per_sec: Spread
    mb_per_sec: Spread
    latency_ms: dict  # percentile label -> Spread
    errors: int
    operations: int
    generator_cpu: Spread  # utilisation, 0..1 per core the tool used
    queue_drain_secs: Spread
    # qresync-resync: octets and `* n FETCH` lines per resync (None for other legs).
    octets_per_op: Spread = None
    fetch_lines_per_op: Spread = None


def operation_figures(result, operation):
    return result.get("operations", {}).get(operation, {})


def summarise(results, operation):
    good = [result for result in results if "failed" not in result]
    failures = [result["failed"] for result in results if "failed" in result]
    figures = [operation_figures(result, operation) for result in good]
    latency = {
        label: Spread.of([figure["latency_us"][key] / 1000 for figure in figures if "latency_us" in figure])
        for label, key in PERCENTILES + (("max", "max"),)
    }
    drains = [result["queue_drain_secs"] for result in good if result.get("queue_drain_secs") is not None]
    return Summary(
        runs=len(good),
        failures=failures,
        ops_per_sec=Spread.of([figure.get("ops_per_sec", 0) for figure in figures]),
        mb_per_sec=Spread.of([figure.get("mb_per_sec", 0) for figure in figures]),
        latency_ms=latency,
        errors=sum(figure.get("errors", 0) for figure in figures),
        operations=sum(figure.get("count", 0) for figure in figures),
        generator_cpu=Spread.of([result.get("generator_cpu", {}).get("utilisation", 0) for result in good]),
        queue_drain_secs=Spread.of(drains),
        octets_per_op=Spread.of([figure["octets_per_op"] for figure in figures if "octets_per_op" in figure]),
        fetch_lines_per_op=Spread.of(
            [figure["fetch_lines_per_op"] for figure in figures if "fetch_lines_per_op" in figure]),
    )


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator.median == 0:
        return None
    return numerator.median / denominator.median


@dataclasses.dataclass
class HoldSummary:
    """One server's idle-connections figures over its successful repeats (memory in KiB)."""
    runs: int
    failures: list
    attempted: int
    held: Spread
    alive_at_end: Spread
    processes_held: Spread
    rss_mib_before: Spread
    rss_mib_held: Spread
    rss_kib_per_connection: Spread
    pss_kib_per_connection: Spread
    rss_kib_marginal: Spread
    pss_kib_marginal: Spread
    set_up_ms: dict  # "p50", "p99" -> Spread
    limited_by: list


def summarise_hold(results):
    good = [result for result in results if "failed" not in result and "idle_connections" in result]
    failures = [result["failed"] for result in results if "failed" in result]
    holds = [result["idle_connections"] for result in good]
    memories = [hold["server_memory"] for hold in holds if hold.get("server_memory")]

    def of(values):
        return Spread.of([value for value in values if value is not None])

    set_up = [result.get("operations", {}).get("idle", {}).get("latency_us", {}) for result in good]
    return HoldSummary(
        runs=len(good),
        failures=failures,
        attempted=max([hold["connections_attempted"] for hold in holds] + [0]),
        held=of(hold["connections_held"] for hold in holds),
        alive_at_end=of(hold["connections_alive_at_end"] for hold in holds),
        processes_held=of(memory["held"]["processes"] for memory in memories),
        rss_mib_before=of(memory["before"]["rss_kib"] / 1024 for memory in memories),
        rss_mib_held=of(memory["held"]["rss_kib"] / 1024 for memory in memories),
        rss_kib_per_connection=of(memory["rss_kib_per_connection"] for memory in memories),
        pss_kib_per_connection=of(memory.get("pss_kib_per_connection") for memory in memories),
        rss_kib_marginal=of(memory.get("rss_kib_per_connection_marginal") for memory in memories),
        pss_kib_marginal=of(memory.get("pss_kib_per_connection_marginal") for memory in memories),
        set_up_ms={key: of(figures.get(key, 0) / 1000 for figures in set_up if figures) for key in ("p50", "p99")},
        limited_by=sorted({hold["limited_by"] for hold in holds if hold.get("limited_by")}),
    )
