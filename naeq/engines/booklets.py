"""Booklet rotation (spiralling) and test IDs with a check character.

Pure numpy; no Django, no naeq app.

Booklets
--------
Every subject has ``n`` parallel booklets (题本). Within each *group* (a school × grade, called once per subject)
the group's test takers are put in random order and booklets are handed out in a spiral ``s, s+1, …, n, 1, 2, …``
from a start ``s``, so the counts of the booklets inside a group differ by at most one, whatever the group size.

The start of each group is not drawn independently (that would let the overall counts drift apart by up to one
per group): the groups are put in random order, one after the other, and the spiral simply *continues* from one
group into the next, from one random start for the whole call. A group then starts where the previous one stopped
(the start offsets rotate), and since the whole call is one unbroken spiral over all test takers, the overall counts
also differ by at most one. Both properties hold exactly, for every group size; see
``tests/engines/test_booklets.py`` for the property tests.

The whole assignment is one ``lexsort`` and one modulo: no loop over students or groups (Kish's systematic
allocation in a random order; the "spiral" of TIMSS/PISA rotated designs).

Test IDs
--------
``<10-digit school code><grade digit><2-digit sequence><check character>``, 14 characters, e.g.
``"1630121001" + "4" + "07" + "K"``. The check character follows ISO 7064 pure system MOD 37-2 (modulus 37, radix
2): the characters ``0-9A-Z`` have values 0..35, the check value 0..36 is written with ``0-9A-Z*``. With 37 prime,
every single-character substitution changes the weighted sum by ``(a - b)·2^k ≢ 0 (mod 37)`` and every transposition
of two adjacent characters by ``(a - b)·2^k``, also ``≢ 0``: both are always detected. (The hybrid MOD 37,36 system,
which needs no ``*``, misses some adjacent transpositions, e.g. ``9260124374396H`` and ``9261024374396H`` both pass
it; that is why it is not used.)

Example
-------
>>> rng = np.random.default_rng(1)
>>> b = assign_booklets(np.array([7, 7, 7, 7, 9, 9, 9]), 3, rng=rng)
>>> sorted(np.bincount(b[:4], minlength=4)[1:].tolist())
[1, 1, 2]
>>> test_id_check_char("1630121001407")
'K'
>>> test_id_valid("1630121001407K")
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALPHABET",
    "CHECK_ALPHABET",
    "TEST_ID_LENGTH",
    "assign_booklets",
    "booklet_counts",
    "group_index",
    "make_test_ids",
    "test_id_check_char",
    "test_id_valid",
]

#: The characters of a test ID body (values 0..35); the check character may also be ``*`` (value 36).
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHECK_ALPHABET = ALPHABET + "*"
_MOD = 37
#: Body: 10-digit school code + grade digit + 2-digit sequence; then one check character.
BODY_LENGTH = 13
TEST_ID_LENGTH = BODY_LENGTH + 1

# Character code -> value (0..35), -1 for characters outside the alphabet.
_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _VALUE[ord(_c)] = _i
_CHECK_BYTES = np.frombuffer(CHECK_ALPHABET.encode("ascii"), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------- booklets


def _as_int_vector(values: Any, name: str) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def group_index(*columns: Any) -> NDArray[np.int64]:
    """Number the distinct combinations of several key columns 0..G-1 (e.g. school code × grade).

    Parameters
    ----------
    *columns : array_like, each of shape (N,)
        Key columns of any sortable dtype (strings or integers).

    Returns
    -------
    ndarray of int64, shape (N,)
        The same integer for rows with equal keys in every column.

    >>> group_index(np.array(["a", "b", "a"]), np.array([4, 4, 4])).tolist()
    [0, 1, 0]
    """
    if not columns:
        raise ValueError("group_index needs at least one key column")
    arrays = [np.asarray(c) for c in columns]
    n = arrays[0].shape[0]
    if any(a.ndim != 1 or a.shape[0] != n for a in arrays):
        raise ValueError("all key columns must be one-dimensional and of the same length")
    codes = np.zeros(n, dtype=np.int64)
    for a in arrays:  # a loop over key columns (a handful), not over rows
        _, inverse = np.unique(a, return_inverse=True)
        width = int(inverse.max()) + 1 if n else 1
        codes = codes * width + inverse.astype(np.int64)
    _, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.int64)


def assign_booklets(group: NDArray[np.int64], n_booklets: int, *, rng: np.random.Generator) -> NDArray[np.int64]:
    """Spiral booklets 1..n over the test takers of every group, from a random start.

    Parameters
    ----------
    group : ndarray of int, shape (N,)
        The group of each test taker (e.g. from :func:`group_index` over school × grade). Any integers; the rows
        of a group need not be contiguous.
    n_booklets : int
        Number of parallel booklets of the subject (≥ 1).
    rng : numpy.random.Generator
        The only source of randomness; the same generator state gives the same assignment.

    Returns
    -------
    ndarray of int64, shape (N,)
        The booklet (1..n_booklets) of each test taker, in input order. Within every group the booklet counts
        differ by at most one, and so do the counts over all groups.

    Notes
    -----
    Groups are placed in a random order and the test takers of a group in a random order after one another;
    position ``i`` of that sequence receives booklet ``(s + i) mod n + 1`` with ``s`` uniform on 0..n-1. A group
    occupies consecutive positions, and any ``m`` consecutive positions of a cycle of length ``n`` hold each
    booklet ``floor(m/n)`` or ``ceil(m/n)`` times. Cost: one ``lexsort`` (O(N log N)).
    """
    g = _as_int_vector(group, "group")
    if isinstance(n_booklets, bool) or not isinstance(n_booklets, int | np.integer):
        raise TypeError(f"n_booklets must be an integer, got {type(n_booklets).__name__}")
    if n_booklets < 1:
        raise ValueError(f"n_booklets must be at least 1, got {n_booklets}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (use numpy.random.default_rng(seed))")
    n = g.shape[0]
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    # Draw in a fixed order, so the result depends on the generator and the data only.
    start = int(rng.integers(n_booklets))
    uniq, inverse = np.unique(g, return_inverse=True)
    group_rank = rng.permutation(uniq.shape[0])[inverse]  # random order of the groups
    within = rng.permutation(n)  # random order inside each group
    order = np.lexsort((within, group_rank))
    out[order] = (start + np.arange(n, dtype=np.int64)) % n_booklets + 1
    return out


def booklet_counts(group: NDArray[np.int64], booklet: NDArray[np.int64], n_booklets: int) -> NDArray[np.int64]:
    """Counts of each booklet in each group: shape (G, n_booklets), rows in the order of ``np.unique(group)``."""
    g = _as_int_vector(group, "group")
    b = _as_int_vector(booklet, "booklet")
    if g.shape != b.shape:
        raise ValueError("group and booklet must have the same length")
    if b.size and (b.min() < 1 or b.max() > n_booklets):
        raise ValueError(f"booklet numbers must lie in 1..{n_booklets}")
    _, inverse = np.unique(g, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if g.size else 0
    flat = np.bincount(inverse * n_booklets + (b - 1), minlength=n_groups * n_booklets)
    return flat.reshape(n_groups, n_booklets).astype(np.int64)


# ---------------------------------------------------------------------------------------------------- test IDs


def _check_values(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """ISO 7064 MOD 37-2 over rows of character values (shape (N, L)): the check value (0..36) of each row.

    The full ID satisfies ``sum(v_i * 2**(L - i)) + c ≡ 1 (mod 37)`` (Horner form below).
    """
    p = np.zeros(values.shape[0], dtype=np.int64)
    for col in range(values.shape[1]):  # a loop over the 13 character positions, vectorised over test takers
        p = ((p + values[:, col]) * 2) % _MOD
    return (1 - p) % _MOD


def test_id_check_char(body: str) -> str:
    """The ISO 7064 MOD 37-2 check character of ``body`` (characters 0-9 and A-Z): one of ``0-9A-Z*``.

    >>> test_id_check_char("1630121001407")
    'K'
    """
    text = body.upper()
    if not text or not text.isascii():
        raise ValueError(f"body must be non-empty ASCII of 0-9/A-Z, got {body!r}")
    vals = _VALUE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    if (vals < 0).any():
        raise ValueError(f"body may hold only 0-9 and A-Z, got {body!r}")
    return CHECK_ALPHABET[int(_check_values(vals[None, :])[0])]


def test_id_valid(test_id: str) -> bool:
    """Whether ``test_id`` has the test ID shape (13 digits and a check character) and its check character fits."""
    if not isinstance(test_id, str) or len(test_id) != TEST_ID_LENGTH:
        return False
    body, check = test_id[:-1], test_id[-1]
    if not (body.isascii() and body.isdigit()) or check not in CHECK_ALPHABET:
        return False
    return test_id_check_char(body) == check


def make_test_ids(school_codes: NDArray[np.str_], grades: NDArray[np.int64],
                  seq: NDArray[np.int64]) -> NDArray[np.str_]:
    """Test IDs ``<school code><grade><2-digit seq><check>`` for N test takers, vectorised.

    Parameters
    ----------
    school_codes : ndarray of str, shape (N,)
        10-digit school identification codes (学校标识码).
    grades : ndarray of int, shape (N,)
        The tested grade, one digit (4, 8; 5 or 9 when a subject is moved to the next grade).
    seq : ndarray of int, shape (N,)
        The test taker's number within school × grade, 1..99.

    Returns
    -------
    ndarray of str (dtype ``<U14``), shape (N,)

    >>> make_test_ids(np.array(["1630121001"]), np.array([4]), np.array([7])).tolist()
    ['1630121001407K']
    """
    codes = np.asarray(school_codes).astype(str)
    g = _as_int_vector(grades, "grades")
    s = _as_int_vector(seq, "seq")
    if codes.ndim != 1 or not (codes.shape == g.shape == s.shape):
        raise ValueError("school_codes, grades and seq must be one-dimensional and of the same length")
    n = codes.shape[0]
    if n == 0:
        return np.empty(0, dtype="<U14")
    if ((g < 1) | (g > 9)).any():
        raise ValueError("grades must be single digits 1..9")
    if ((s < 1) | (s > 99)).any():
        raise ValueError("seq must lie in 1..99 (two digits)")
    lengths = np.char.str_len(codes)
    if (lengths != 10).any() or not np.char.isdigit(codes).all():
        bad = codes[(lengths != 10) | ~np.char.isdigit(codes)][:3].tolist()
        raise ValueError(f"school codes must be 10 digits, e.g. not {bad}")
    digits = np.frombuffer(codes.astype("S10").tobytes(), dtype=np.uint8).reshape(n, 10) - ord("0")
    body = np.empty((n, BODY_LENGTH), dtype=np.int64)
    body[:, :10] = digits
    body[:, 10] = g
    body[:, 11] = s // 10
    body[:, 12] = s % 10
    check = _check_values(body)
    chars = np.empty((n, TEST_ID_LENGTH), dtype=np.uint8)
    chars[:, :BODY_LENGTH] = body + ord("0")
    chars[:, BODY_LENGTH] = _CHECK_BYTES[check]
    return chars.view(f"S{TEST_ID_LENGTH}").ravel().astype(f"<U{TEST_ID_LENGTH}")
