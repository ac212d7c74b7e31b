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
    )


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator.median == 0:
        return None
    return numerator.median / denominator.median
