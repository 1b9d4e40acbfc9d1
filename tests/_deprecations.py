"""What the keyword-renaming shim warned about, for the deprecation tests."""

import re


def renamed_keywords(record):
    """``[(function, old, new), ...]`` from the DeprecationWarnings in a ``pytest.warns`` record."""
    found = []
    for w in record:
        m = re.search(r"(\w+)\(\) keyword '(\w+)' is deprecated.*use '(\w+)'", str(w.message))
        assert m, f"unexpected warning: {w.message}"
        found.append(m.groups())
    return sorted(found)
