"""bench/wire.py's reading of the PostgreSQL protocol, from hand-made messages.

    python3 -m unittest discover -s bench -p 'test_*.py'
"""

from __future__ import annotations

import struct
import sys
import unittest
import uuid
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from wire import UNDECODED, Reader, param_text  # noqa: E402

UUID, TEXT, INT8, INET = 2950, 25, 20, 869
ID = uuid.UUID("0b0b0002-0003-4000-8000-000000001389")


def msg(kind: str, body: bytes) -> bytes:
    return kind.encode() + struct.pack(">i", 4 + len(body)) + body


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def startup() -> bytes:
    body = struct.pack(">i", 196608) + cstr("user") + cstr("app") + b"\0"
    return struct.pack(">i", 4 + len(body)) + body


def parse(name: str, sql: str, oids: list[int]) -> bytes:
    return msg("P", cstr(name) + cstr(sql) + struct.pack(f">h{len(oids)}I", len(oids), *oids))


def bind(name: str, params: list[bytes | None], binary: bool = True) -> bytes:
    body = cstr("") + cstr(name) + struct.pack(">hh", 1, 1 if binary else 0)
    body += struct.pack(">h", len(params))
    for p in params:
        body += struct.pack(">i", -1) if p is None else struct.pack(">i", len(p)) + p
    return msg("B", body + struct.pack(">h", 0))


def describe(name: str) -> bytes:
    return msg("D", b"S" + cstr(name))


EXECUTE, SYNC, FLUSH = msg("E", cstr("") + struct.pack(">i", 0)), msg("S", b""), msg("H", b"")
READY = msg("Z", b"I")
PARSED, BOUND, DONE = msg("1", b""), msg("2", b""), msg("C", cstr("SELECT 1"))


def parameters(oids: list[int]) -> bytes:
    return msg("t", struct.pack(f">h{len(oids)}I", len(oids), *oids))


def connected() -> Reader:
    """A reader past the startup: the startup message and its ReadyForQuery."""
    r = Reader(1)
    r.from_client(startup(), 0)
    r.from_server(msg("R", struct.pack(">i", 0)) + READY)
    return r


class Statements(unittest.TestCase):
    def test_a_statement_prepared_on_an_earlier_request_is_known_by_its_name(self):
        r = connected()
        r.from_client(parse("s1", "SELECT * FROM sessions WHERE id = $1", [UUID])
                      + describe("s1") + SYNC, 1)
        r.from_server(PARSED + parameters([UUID]) + msg("n", b"") + READY)
        r.executed.clear()
        r.from_client(bind("s1", [ID.bytes]) + EXECUTE + SYNC, 2)
        self.assertEqual([(e.sql, e.params, e.trip) for e in r.executed],
                         [("SELECT * FROM sessions WHERE id = $1", [str(ID)], 2)])

    def test_parameter_types_left_0_by_parse_come_from_the_backends_description(self):
        r = connected()
        r.from_client(parse("s2", "SELECT $1, $2", [0, 0]) + describe("s2") + SYNC, 1)
        r.from_server(PARSED + parameters([UUID, INT8]) + msg("n", b"") + READY)
        r.from_client(bind("s2", [ID.bytes, (42).to_bytes(8, "big")]) + EXECUTE + SYNC, 2)
        self.assertEqual(r.executed[-1].params, [str(ID), "42"])

    def test_a_binary_parameter_of_unknown_type_is_not_guessed(self):
        r = connected()
        r.from_client(parse("", "SELECT $1", [0]) + bind("", [ID.bytes]) + EXECUTE + SYNC, 1)
        self.assertEqual(r.executed[-1].params, [UNDECODED])

    def test_the_unnamed_statement_is_the_last_one_parsed(self):
        r = connected()
        r.from_client(parse("", "SELECT 1 WHERE $1 = 'a'", [TEXT]) + bind("", [b"a"])
                      + EXECUTE + parse("", "SELECT 2 WHERE $1 = 'b'", [TEXT])
                      + bind("", [b"b"]) + EXECUTE + SYNC, 1)
        self.assertEqual([(e.sql[:8], e.params) for e in r.executed],
                         [("SELECT 1", ["a"]), ("SELECT 2", ["b"])])

    def test_a_describe_cut_off_by_an_error_does_not_take_the_next_ones_answer(self):
        r = connected()
        # batch 1 fails at its Parse: the backend skips the Describe, answers the Sync
        r.from_client(parse("bad", "SELEC $1", [0]) + describe("bad") + SYNC
                      + parse("s3", "SELECT $1", [0]) + describe("s3") + SYNC, 1)
        r.from_server(msg("E", b"SERROR\0\0") + READY)
        r.from_server(PARSED + parameters([UUID]) + msg("T", struct.pack(">h", 0)) + READY)
        r.from_client(bind("s3", [ID.bytes]) + EXECUTE + SYNC, 2)
        self.assertEqual(r.executed[-1].params, [str(ID)])

    def test_listen_connection_is_left_out(self):
        r = connected()
        r.from_client(msg("Q", cstr("LISTEN dealergate_revocations")), 1)
        r.from_client(msg("Q", cstr("SELECT 1")), 2)
        self.assertTrue(r.listener)
        self.assertEqual(r.executed, [])


class RoundTrips(unittest.TestCase):
    def test_a_pipeline_in_two_writes_with_a_partial_answer_between_is_one_round_trip(self):
        r = connected()
        self.assertTrue(r.idle())
        r.from_client(bind("s", []) + EXECUTE + SYNC + bind("t", []) + EXECUTE, 1)
        r.from_server(BOUND + DONE)  # the first statement's answer, not yet its ReadyForQuery
        self.assertFalse(r.idle())
        r.from_client(SYNC, 1)
        r.from_server(READY + BOUND + DONE)
        self.assertFalse(r.idle(), "one Sync still unanswered")
        r.from_server(READY)
        self.assertTrue(r.idle())

    def test_a_statement_prepared_on_first_use_waits_twice(self):
        r = connected()
        r.from_client(parse("s", "SELECT 1", []) + describe("s") + SYNC, 1)
        self.assertFalse(r.idle())
        r.from_server(PARSED + parameters([]) + msg("n", b"") + READY)
        self.assertTrue(r.idle(), "the Bind that follows is a second round trip")

    def test_a_wait_on_a_flush_alone_leaves_nothing_outstanding(self):
        r = connected()
        r.from_client(parse("s", "SELECT 1", []) + describe("s") + FLUSH, 1)
        r.from_server(PARSED)
        self.assertTrue(r.idle())
        r.from_client(bind("s", []) + EXECUTE + SYNC, 2)
        self.assertFalse(r.idle())

    def test_startup_is_not_idle_until_its_ready_for_query(self):
        r = Reader(1)
        r.from_client(startup(), 0)
        self.assertFalse(r.idle())
        r.from_server(msg("R", struct.pack(">i", 5) + b"salt"))
        self.assertFalse(r.idle())
        r.from_server(msg("R", struct.pack(">i", 0)) + READY)
        self.assertTrue(r.idle())


class Parameters(unittest.TestCase):
    def test_binary_values_as_postgres_writes_them(self):
        self.assertEqual(param_text(INET, 1, bytes([2, 32, 0, 4, 127, 0, 0, 1])), "127.0.0.1")
        self.assertEqual(param_text(INET, 1, bytes([2, 24, 0, 4, 10, 1, 2, 0])), "10.1.2.0/24")
        self.assertEqual(param_text(1082, 1, (366).to_bytes(4, "big")), "2001-01-01")
        self.assertEqual(param_text(17, 1, b"\x01\xff"), "\\x01ff")
        array = struct.pack(">iiIii", 1, 0, UUID, 1, 1) + struct.pack(">i", 16) + ID.bytes
        self.assertEqual(param_text(2951, 1, array), '{"' + str(ID) + '"}')
        self.assertEqual(param_text(1700, 1, b"\0\0"), UNDECODED)  # numeric: not written


if __name__ == "__main__":
    unittest.main()
