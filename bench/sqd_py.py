"""Minimal read-only access to a .sqd file for the bench scripts (docs/sqd-format.md):
sections as numpy views and dictionaries as lists of original ids. Checks the magic only;
shopseq's own reader is the one that validates."""
import struct
import sys

import numpy as np

SEC_USER_OFFSETS, SEC_ITEM, SEC_BEHAVIOR, SEC_TIME = 1, 2, 3, 4
SEC_USER_DICT_OFFSETS, SEC_USER_DICT_BYTES = 9, 10
SEC_ITEM_DICT_OFFSETS, SEC_ITEM_DICT_BYTES = 12, 13


class Sqd:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        if self.buf[:8] != b"SQD1\r\n\x1a\n":
            sys.exit("%s: not a .sqd file" % path)
        (self.n_users, self.n_items, self.n_categories, self.flags,
         self.n_events, self.n_sessions) = struct.unpack_from("<4I2Q", self.buf, 24)
        (n_sections,) = struct.unpack_from("<I", self.buf, 80)
        self.sec = {}
        for i in range(n_sections):
            sid, _, off, size, _ = struct.unpack_from("<IIQQQ", self.buf, 88 + 32 * i)
            self.sec[sid] = (off, size)

    def arr(self, sid, dtype):
        off, size = self.sec[sid]
        return np.frombuffer(self.buf, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=off)

    def strings(self, off_id, bytes_id):
        offs = self.arr(off_id, "<u8")
        off, _ = self.sec[bytes_id]
        return [self.buf[off + int(a):off + int(b)].decode() for a, b in zip(offs[:-1], offs[1:])]

    def users(self):
        return self.strings(SEC_USER_DICT_OFFSETS, SEC_USER_DICT_BYTES)

    def items(self):
        return self.strings(SEC_ITEM_DICT_OFFSETS, SEC_ITEM_DICT_BYTES)
