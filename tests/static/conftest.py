"""Prints the contract sizes the size tests measured at the end of the run (also under pytest-xdist)."""

from tests.static.test_contract_sizes import size_table


def pytest_terminal_summary(terminalreporter):
    sizes = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "runtime_bytes" and report.when == "call":
                name, size = value
                sizes[name] = size
    if sizes:
        terminalreporter.write_sep("-", "contract runtime sizes (tests/static/test_contract_sizes.py)")
        terminalreporter.write_line(size_table(sizes))
