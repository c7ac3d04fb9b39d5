#!/usr/bin/env python3
"""Parse OpenMetrics text from stdin with prometheus_client's strict parser.

Prints one line per exemplar: `family sample_name le trace_id value timestamp`, then
`families N`. Exits 1 (with the parser's message) when the text is not valid OpenMetrics.
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others with the offending line
        print(f"invalid OpenMetrics: {e}")
        return 1
    for family in families:
        for s in family.samples:
            if s.exemplar:
                e = s.exemplar
                print(family.name, s.name, s.labels.get("le", "-"), e.labels.get("trace_id", "-"), e.value, e.timestamp)
    print("families", len(families))
    return 0


if __name__ == "__main__":
    sys.exit(main())
