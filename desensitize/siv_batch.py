"""AES-SIV (RFC 5297) for many messages at once, byte-identical to `cryptography`'s AESSIV.

`AESSIV.encrypt` costs one call into the library per value (a few microseconds: ~330k values/s
on an idle core), and a vault column holds one value per resident. Here messages are grouped by
exact byte length, each group is a (messages, length) byte matrix, and every AES step is one
ECB call on a whole column of blocks:

- CMAC (the PRF inside S2V) is a CBC chain: block j of every message of a group is encrypted by
  one call, so a group costs one call per block position, not per message;
- S2V's doubling, XOR-end and padding are numpy operations on (n, 16) byte arrays;
- the CTR keystream of every block of a group is one ECB call on its counter blocks.

Vault values (IDs, names, phones, addresses) are short, so a batch holds a few dozen distinct
lengths (long free text of many lengths would still be right, only with less gain). Associated
data that is the same for every message (the vault's field name) is one
bytes object, MAC'd once and broadcast; per-message associated data is a sequence or an Arrow
array. Only the AES block function comes from the library; the construction around it is
checked against the library's AESSIV by tests/desensitize/test_deid_siv_batch.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Messages: TypeAlias = "pa.Array | pa.ChunkedArray | Sequence[bytes]"
Associated: TypeAlias = "Sequence[bytes | Messages]"

BLOCK = 16
KEY_BYTES = (32, 48, 64)
MAX_ASSOCIATED = 126  # RFC 5297 section 7: S2V takes at most 127 strings, one is the plaintext
_SLICE = 1 << 18  # messages per pass: bounds the working arrays of a pass to tens of MB
_INT32_BYTES = 2**31 - 1


class _Ragged:
    """Byte strings as one flat uint8 buffer with a start and a length per message."""

    def __init__(self, data: U8, starts: I64, lengths: I64) -> None:
        self.data, self.starts, self.lengths = data, starts, lengths

    @classmethod
    def of(cls, messages: Messages) -> _Ragged:
        arr = messages if isinstance(messages, pa.Array | pa.ChunkedArray) else pa.array(
            list(messages), pa.binary())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_string(arr.type):
            arr = pc.cast(arr, pa.binary())  # UTF-8 bytes as they are: no copy
        elif pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.large_binary())
        if not (pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)):
            raise TypeError(f"messages must be bytes or text, not {arr.type}")
        if arr.null_count:
            raise ValueError(f"{arr.null_count} messages are null; pass only values")
        _, offsets_buf, data_buf = arr.buffers()
        kind = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
        offsets = np.frombuffer(offsets_buf, kind)[arr.offset:arr.offset + len(arr) + 1]
        wide: I64 = offsets.astype(np.int64)
        data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        return cls(data, wide[:-1], np.diff(wide))

    def __len__(self) -> int:
        return len(self.starts)

    def part(self, lo: int, hi: int) -> _Ragged:
        return _Ragged(self.data, self.starts[lo:hi], self.lengths[lo:hi])

    def rows(self, idx: I64, length: int, skip: int = 0) -> U8:
        """(len(idx), length) matrix of bytes skip..skip+length of the messages `idx`."""
        if length == 0:
            return np.zeros((len(idx), 0), np.uint8)
        windows = np.lib.stride_tricks.sliding_window_view(self.data, length)
        return windows[self.starts[idx] + skip]


def _order(lengths: I64) -> I64:
    """Positions sorted by length, stably; 16-bit lengths get numpy's radix sort."""
    short = len(lengths) == 0 or int(lengths.max()) < 1 << 16
    return np.argsort(lengths.astype(np.uint16) if short else lengths, kind="stable")


def _by_length(lengths: I64, order: I64 | None = None) -> Iterator[tuple[int, I64]]:
    """(length, positions) for each distinct length; `order` is `_order(lengths)` if known."""
    order = _order(lengths) if order is None else order
    ordered = lengths[order]
    cuts = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), len(order)]
    for lo, hi in pairwise(cuts):
        if hi > lo:
            yield int(ordered[lo]), order[lo:hi]


def _dbl(x: U8) -> U8:
    """Multiplication by x in GF(2^128) (RFC 5297 `dbl`), row by row."""
    out: U8 = (x << 1).astype(np.uint8, copy=False)
    out[:, :-1] |= x[:, 1:] >> 7
    out[:, -1] ^= (x[:, 0] >> 7) * np.uint8(0x87)
    return out


def _ecb(ctx: CipherContext, blocks: U8) -> U8:
    if not len(blocks):
        return np.zeros((0, BLOCK), np.uint8)
    out = ctx.update(np.ascontiguousarray(blocks).data)
    return np.frombuffer(out, np.uint8).reshape(-1, BLOCK)


class SivBatch:
    """AES-SIV over arrays of messages; `key` is K1 || K2 as for `AESSIV` (32, 48 or 64 bytes).

    Keeps no cipher context between calls, so one instance may serve several threads.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) not in KEY_BYTES:
            raise ValueError(f"AES-SIV keys are {KEY_BYTES} bytes long, not {len(key)}")
        half = len(key) // 2
        self._mac = Cipher(algorithms.AES(key[:half]), modes.ECB())
        self._ctr = Cipher(algorithms.AES(key[half:]), modes.ECB())
        mac = self._mac.encryptor()
        zero = np.zeros((1, BLOCK), np.uint8)
        self._k1 = _dbl(_ecb(mac, zero))  # CMAC subkeys (RFC 4493 section 2.3)
        self._k2 = _dbl(self._k1)
        self._d0 = self._cmac(mac, zero)  # S2V starts from CMAC(<zero>)

    def __repr__(self) -> str:
        return "SivBatch(key=<hidden>)"

    def encrypt(self, plaintexts: Messages, associated: Associated) -> pa.Array:
        """SIV || ciphertext per message (the RFC 5297 / AESSIV layout), as a binary array."""
        plain = _Ragged.of(plaintexts)
        items = self._associated(associated, len(plain))
        parts = []
        for lo in range(0, len(plain), _SLICE):
            hi = min(lo + _SLICE, len(plain))
            parts.append(self._encrypt_part(plain.part(lo, hi), [_part(i, lo, hi) for i in items]))
        return _concat(parts, int(plain.lengths.sum()) + BLOCK * len(plain))

    def decrypt(self, ciphertexts: Messages, associated: Associated
                ) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
        """(plaintexts, ok): a message whose tag does not verify is null and ok[i] is False.

        Each tag is compared over all 16 bytes with no early exit, so the time taken does not
        depend on where a forged tag first differs.
        """
        sealed = _Ragged.of(ciphertexts)
        items = self._associated(associated, len(sealed))
        parts, oks = [], []
        for lo in range(0, len(sealed), _SLICE):
            hi = min(lo + _SLICE, len(sealed))
            opened, ok = self._decrypt_part(sealed.part(lo, hi),
                                            [_part(i, lo, hi) for i in items])
            parts.append(opened)
            oks.append(ok)
        plaintexts = _concat(parts, int(sealed.lengths.sum()))
        ok = np.concatenate(oks) if oks else np.zeros(0, np.bool_)
        if not ok.all():  # a plaintext that did not authenticate is never handed out
            plaintexts = pc.if_else(pa.array(ok), plaintexts, pa.nulls(len(ok), plaintexts.type))
        return plaintexts, ok

    def _encrypt_part(self, plain: _Ragged, items: list[U8 | _Ragged]) -> pa.Array:
        mac = self._mac.encryptor()
        d = self._s2v_prefix(mac, items)
        chunks, lengths = [], []
        order = _order(plain.lengths)
        for length, idx in _by_length(plain.lengths, order):
            p = plain.rows(idx, length)
            siv = self._s2v_last(mac, d if len(d) == 1 else d[idx], p)
            chunks.append(np.hstack([siv, p ^ self._keystream(siv, length)]).ravel())
            lengths.append(np.full(len(idx), BLOCK + length, np.int64))
        return _unsort(chunks, lengths, order)

    def _decrypt_part(self, sealed: _Ragged, items: list[U8 | _Ragged]
                      ) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
        mac = self._mac.encryptor()
        d = self._s2v_prefix(mac, items)
        ok = np.zeros(len(sealed), np.bool_)
        body = np.maximum(sealed.lengths - BLOCK, 0)  # too short to hold a tag: opens to b""
        chunks, lengths = [], []
        order = _order(body)
        for length, idx in _by_length(body, order):
            tags = np.zeros((len(idx), BLOCK), np.uint8)
            p = np.zeros((len(idx), length), np.uint8)
            whole = sealed.lengths[idx] >= BLOCK
            if whole.any():
                tags[whole] = sealed.rows(idx[whole], BLOCK)
                p[whole] = sealed.rows(idx[whole], length, skip=BLOCK) ^ self._keystream(
                    tags[whole], length)
            expected = self._s2v_last(mac, d if len(d) == 1 else d[idx], p)
            ok[idx] = (np.bitwise_or.reduce(expected ^ tags, axis=1) == 0) & whole
            chunks.append(p.ravel())
            lengths.append(np.full(len(idx), length, np.int64))
        return _unsort(chunks, lengths, order), ok

    def _associated(self, associated: Associated, n: int) -> list[U8 | _Ragged]:
        """Shared items become their CMAC (1, 16) now; per-message items stay ragged."""
        if len(associated) > MAX_ASSOCIATED:
            raise ValueError(f"at most {MAX_ASSOCIATED} associated data items, "
                             f"not {len(associated)}")
        items: list[U8 | _Ragged] = []
        for item in associated:
            if isinstance(item, bytes | bytearray | memoryview):
                one = np.frombuffer(bytes(item), np.uint8).reshape(1, -1)
                items.append(self._cmac(self._mac.encryptor(), one))
            else:
                rag = _Ragged.of(item)
                if len(rag) != n:
                    raise ValueError(f"an associated data item has {len(rag)} values for "
                                     f"{n} messages")
                items.append(rag)
        return items

    def _cmac(self, mac: CipherContext, m: U8) -> U8:
        """CMAC (RFC 4493) of each row of `m`, all rows of the same length."""
        k, length = m.shape
        nblocks = max(1, -(-length // BLOCK))
        padded = np.zeros((k, nblocks * BLOCK), np.uint8)
        padded[:, :length] = m
        if length and length % BLOCK == 0:
            padded[:, -BLOCK:] ^= self._k1[0]
        else:
            padded[:, length] = 0x80
            padded[:, -BLOCK:] ^= self._k2[0]
        state = np.zeros((k, BLOCK), np.uint8)
        for j in range(nblocks):
            state = _ecb(mac, state ^ padded[:, j * BLOCK:(j + 1) * BLOCK])
        return state

    def _s2v_prefix(self, mac: CipherContext, items: list[U8 | _Ragged]) -> U8:
        """S2V's D after the associated data: (1, 16) if all items are shared, else (n, 16)."""
        d = self._d0
        for item in items:
            if isinstance(item, np.ndarray):
                d = _dbl(d) ^ item
                continue
            macs = np.empty((len(item), BLOCK), np.uint8)
            for length, idx in _by_length(item.lengths):
                macs[idx] = self._cmac(mac, item.rows(idx, length))
            d = _dbl(d) ^ macs  # broadcasts a shared (1, 16) D over the messages
        return d

    def _s2v_last(self, mac: CipherContext, d: U8, p: U8) -> U8:
        """S2V's last step on plaintexts `p` of one length: the SIV of each row."""
        k, length = p.shape
        d = np.broadcast_to(d, (k, BLOCK))
        if length >= BLOCK:  # T = P xorend D
            t = p.copy()
            t[:, -BLOCK:] ^= d
        else:  # T = dbl(D) xor pad(P)
            t = np.zeros((k, BLOCK), np.uint8)
            t[:, :length] = p
            t[:, length] = 0x80
            t ^= _dbl(np.ascontiguousarray(d))
        return self._cmac(mac, t)

    def _keystream(self, siv: U8, length: int) -> U8:
        """AES-CTR keystream of `length` bytes per row, counter starting at Q (RFC 5297 2.6:
        the SIV with the top bit of each of its last two 32-bit words cleared)."""
        nblocks = -(-length // BLOCK)
        q = siv.copy()
        q[:, 8] &= 0x7F
        q[:, 12] &= 0x7F
        counters = np.repeat(q, nblocks, axis=0)
        # The cleared top bit leaves room for 2^31 blocks in the last word without a carry.
        words = counters.view(">u4")
        words[:, 3] += np.tile(np.arange(nblocks, dtype=np.uint32), len(q))
        stream = _ecb(self._ctr.encryptor(), counters).reshape(len(q), nblocks * BLOCK)
        return stream[:, :length]


def _part(item: U8 | _Ragged, lo: int, hi: int) -> U8 | _Ragged:
    return item if isinstance(item, np.ndarray) else item.part(lo, hi)


def _unsort(chunks: list[U8], lengths: list[I64], order: I64) -> pa.Array:
    """The groups' outputs, visited in `order`, as one array in message order."""
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
    sizes = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    arr = _binary(data, sizes)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return arr.take(pa.array(back))


def _binary(data: U8, sizes: I64) -> pa.Array:
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if offsets[-1] <= _INT32_BYTES:
        return pa.Array.from_buffers(pa.binary(), len(sizes), [
            None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_binary(), len(sizes), [
        None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _concat(parts: list[pa.Array], total_bytes: int) -> pa.Array:
    if not parts:
        return pa.array([], pa.binary())
    if total_bytes > _INT32_BYTES:
        parts = [p.cast(pa.large_binary()) for p in parts]
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
