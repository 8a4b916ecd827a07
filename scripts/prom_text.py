"""The Prometheus text exposition format, read: the one parser of the
super peer's /metrics page that the tools and tests share."""

import re

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text):
    """{(name, frozenset of (label, value))): value} of every sample; comment
    lines and lines that are no sample are left out."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out[(m.group(1), frozenset(_LABEL.findall(m.group(2) or "")))] = value
    return out


def total(samples_, name, **labels):
    """The sum of `name`'s samples that carry all of `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples_.items() if n == name and want <= set(ls))


def by_label(samples_, name, label):
    """{value of `label`: sum of `name`'s samples with it}."""
    out = {}
    for (n, ls), v in samples_.items():
        if n != name:
            continue
        key = dict(ls).get(label)
        if key is not None:
            out[key] = out.get(key, 0) + v
    return out
