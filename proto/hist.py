"""A mergeable log-linear histogram (HdrHistogram-style, ~1.6% precision) of non-negative
durations in microseconds. Agents fill one per metric; the coordinator adds them up. The wire
form is a map of bucket index -> count (``to_wire`` / ``from_wire``)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: values below this are exact; above, each power of two is split into SUB/2 buckets
SUB = 128
_HALF = SUB // 2


def bucket_of(value_us: int) -> int:
    v = max(0, int(value_us))
    if v < SUB:
        return v
    shift = v.bit_length() - 7  # v >> shift is in [64, 127]
    return SUB + (shift - 1) * _HALF + ((v >> shift) - _HALF)


def lowest_of(index: int) -> int:
    """The smallest value that falls in bucket ``index``."""
    if index < SUB:
        return index
    shift, sub = divmod(index - SUB, _HALF)
    return (sub + _HALF) << (shift + 1)


def highest_of(index: int) -> int:
    """The largest value that falls in bucket ``index``."""
    return lowest_of(index + 1) - 1 if index + 1 >= SUB else index


@dataclass
class Histogram:
    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    max_us: int = 0

    def record(self, value_us: float) -> None:
        v = max(0, int(value_us))
        i = bucket_of(v)
        self.counts[i] = self.counts.get(i, 0) + 1
        self.total += 1
        self.max_us = max(self.max_us, v)

    def merge(self, other: Histogram) -> None:
        for i, n in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + n
        self.total += other.total
        self.max_us = max(self.max_us, other.max_us)

    def percentile(self, p: float) -> float:
        """The value (µs) at or below which ``p`` percent of the recorded values lie (0 if none);
        reported as the bucket's midpoint, capped by the exact maximum."""
        if self.total == 0:
            return 0.0
        rank = max(1, -(-self.total * p // 100))  # ceil, at least the first value
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                return float(min((lowest_of(i) + highest_of(i)) / 2, self.max_us))
        return float(self.max_us)

    def summary_ms(self) -> dict[str, float]:
        return {"count": self.total,
                **{f"p{p}": round(self.percentile(p) / 1000, 3) for p in (50, 90, 95, 99)},
                "max": round(self.max_us / 1000, 3)}

    def to_wire(self) -> dict[str, object]:
        return {"b": [[i, n] for i, n in sorted(self.counts.items())], "max": self.max_us}

    @staticmethod
    def from_wire(raw: object) -> Histogram:
        """Rebuild from the wire form; raises ValueError on anything malformed."""
        if not isinstance(raw, dict) or not isinstance(raw.get("b"), list):
            raise ValueError("histogram must be a map with a 'b' list")
        h = Histogram()
        counts, total = h.counts, 0
        for pair in raw["b"]:  # per bucket of every agent's report: kept to plain type tests
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("histogram buckets must be [index, count] pairs")
            i, n = pair
            # exact int (msgpack decodes no subclass; a bool is not an int here)
            if type(i) is not int or type(n) is not int or i < 0 or n < 0:
                raise ValueError("histogram buckets must be [index, count] pairs")
            counts[i] = counts.get(i, 0) + n
            total += n
        h.total = total
        mx = raw.get("max", 0)
        h.max_us = mx if isinstance(mx, int) and not isinstance(mx, bool) and mx >= 0 else 0
        return h
