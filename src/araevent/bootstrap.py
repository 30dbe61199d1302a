"""Bootstrap over documents: 95% intervals of micro F1 and the paired test between two systems.

Both resample documents with replacement from per-document ``[tp, fp, fn]``
rows, so an interval or a p-value needs only those counts (``metrics.json``
keeps none of them; ``araevent compare`` recounts them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# documents per resampling chunk times samples: caps bootstrap memory at ~8 MB of indices
_CHUNK_CELLS = 1_000_000


def resampled_totals(
    tables: Sequence[np.ndarray], samples: int, seed: int
) -> Iterator[list[np.ndarray]]:
    """Summed ``[tp, fp, fn]`` of bootstrap resamples of documents, in chunks.

    Every table has one row per document (the same documents in the same order);
    each resample draws the same document indices for every table, which makes
    a paired test. Yields, per chunk, one ``[chunk, 3]`` array per table.
    """
    n = len(tables[0])
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        idx = rng.integers(0, n, size=(size, n))
        yield [t[idx].sum(axis=1) for t in tables]
        done += size


def f1_from_counts(totals: np.ndarray) -> np.ndarray:
    """Micro F1 of each ``[tp, fp, fn]`` row (0 where there is nothing to score)."""
    totals = np.asarray(totals)
    tp, fp, fn = totals[..., 0], totals[..., 1], totals[..., 2]
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=float), where=denom > 0)


def _defined_f1(totals: np.ndarray) -> np.ndarray:
    """F1 of each row, NaN where a resample holds no gold and no predicted span."""
    f1 = f1_from_counts(totals)
    empty = (2 * totals[..., 0] + totals[..., 1] + totals[..., 2]) == 0
    return np.where(empty, np.nan, f1)


def bootstrap_f1(counts: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """95% interval of micro F1 from per-document ``[tp, fp, fn]`` rows, documents resampled.

    A resample of documents with no gold and no predicted span has no F1 and is
    left out (it would otherwise count as 0 and drag a perfect system's interval
    down to 0).
    """
    if len(counts) == 0 or samples <= 0:
        return (0.0, 0.0)
    f1 = np.concatenate(
        [_defined_f1(t[0]) for t in resampled_totals([np.asarray(counts)], samples, seed)]
    )
    f1 = f1[~np.isnan(f1)]
    if not len(f1):
        return (0.0, 0.0)
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, samples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap test of the micro-F1 difference between systems ``a`` and ``b``.

    ``a`` and ``b`` hold ``[tp, fp, fn]`` per document for the same documents in the
    same order. Each resample draws documents with replacement (the same draw for
    both systems) and measures ``delta_i = F1_a - F1_b`` (resamples where either F1
    is undefined, with nothing to score, are left out). The two-sided p-value is
    the share of resamples whose delta lies at least as far from the observed
    delta as the observed delta lies from 0 (the bootstrap distribution shifted
    to the null; Berg-Kirkpatrick et al. 2012), counted as ``(k + 1) / (n + 1)``
    so it is never 0.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"paired counts differ in shape: {a.shape} vs {b.shape}")
    f1_a = float(f1_from_counts(a.sum(axis=0))) if len(a) else 0.0
    f1_b = float(f1_from_counts(b.sum(axis=0))) if len(b) else 0.0
    delta = f1_a - f1_b
    out = {"f1_a": f1_a, "f1_b": f1_b, "delta": delta, "samples": samples, "documents": len(a)}
    deltas = np.zeros(0)
    if len(a) and samples > 0:
        deltas = np.concatenate(
            [
                _defined_f1(ta) - _defined_f1(tb)
                for ta, tb in resampled_totals([a, b], samples, seed)
            ]
        )
        deltas = deltas[~np.isnan(deltas)]
    if not len(deltas):
        return {**out, "p_value": 1.0, "delta_ci_low": 0.0, "delta_ci_high": 0.0}
    extreme = int(np.sum(np.abs(deltas - delta) >= abs(delta) - 1e-12))
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return {
        **out,
        "p_value": (extreme + 1) / (len(deltas) + 1),
        "delta_ci_low": float(lo),
        "delta_ci_high": float(hi),
    }
