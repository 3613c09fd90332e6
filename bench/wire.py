"""The PostgreSQL wire between a server and the cluster, read by a loopback proxy (bench/run).

Tap forwards bytes both ways unchanged and reads them on the side: the round trips the server
waited for, and every statement it had executed, with its parameters as text. Protocol:
https://www.postgresql.org/docs/15/protocol-message-formats.html. The parsing (Reader) is
separate from the sockets so it can be tested with hand-made messages (bench/test_wire.py).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import struct
import threading
import uuid
from collections import deque
from dataclasses import dataclass

# SSLRequest, GSSENCRequest: the backend answers one byte, then a real startup follows
STARTUP_CODES = (80877103, 80877104)


@dataclass
class Executed:
    """One statement the server had PostgreSQL execute, with its parameters as text; `trip`
    numbers the round trip (the client's write) that carried it, so statements sent together
    can be replayed together."""
    sql: str
    params: list[str | None]
    connection: int
    trip: int = 0


class Reader:
    """One connection's two byte streams, parsed as they pass.

    A round trip is counted when the client writes while it has nothing outstanding: every
    Query and Sync it sent has had its ReadyForQuery (a wait on a Flush alone has nothing
    outstanding either, so the write after it counts too).
    So a pipeline of statements (Parse/Bind/Execute/Sync each, or one Sync at the end) counts
    once however many writes carry it, while a statement prepared on first use (Parse/Describe/
    Sync, then Bind/Execute/Sync) counts twice, and sqlx's release ping (a lone Sync) once.
    Statements are recorded as sent: a simple Query's text as is, an extended-protocol one when
    it is bound, by the name its Parse gave it (on this or an earlier request, or the unnamed
    statement), with its parameters decoded by type: the OIDs of its Parse, or, where Parse
    left them 0 (tokio-postgres does), the backend's ParameterDescription for its Describe.
    """

    def __init__(self, connection: int) -> None:
        self.connection = connection
        self.started = False
        self.listener = False  # LISTEN's connection: left out of everything
        self.lost = False  # an unreadable message: forwarding goes on, reading stops
        self.front = bytearray()
        self.back = bytearray()
        self.ssl_answers = 0  # one-byte answers the backend owes (SSLRequest, GSSENCRequest)
        self.prepared: dict[bytes, tuple[str, list[int]]] = {}
        self.syncs = 0  # Syncs and Queries sent (startup counts as one)
        self.ready = 0  # ReadyForQuery received
        self.describes: deque[tuple[int, bytes]] = deque()  # (Sync batch, statement name)
        self.trace: list[str] = []
        self.executed: list[Executed] = []

    def idle(self) -> bool:
        """Nothing outstanding: the client's next write is a new round trip."""
        return self.ready >= self.syncs

    def from_client(self, data: bytes, trip: int) -> None:
        self.front += data
        if self.lost:
            return
        try:
            self.parse_front(trip)
        except Exception as e:  # noqa: BLE001 - forwarding must go on
            self.lost = True
            self.executed.append(Executed(f"<unreadable: {e}>", [], self.connection, trip))

    def from_server(self, data: bytes) -> None:
        if self.lost:
            return
        self.back += data
        try:
            self.parse_back()
        except Exception:  # noqa: BLE001 - a round trip then falls back to "the server wrote"
            self.lost = True

    # --- the client's messages ---

    def parse_front(self, trip: int) -> None:
        buf = self.front
        while True:
            if not self.started:
                if len(buf) < 8:
                    return
                length, code = struct.unpack(">ii", buf[:8])
                if len(buf) < length:
                    return
                del buf[:length]
                if code in STARTUP_CODES:
                    self.ssl_answers += 1
                else:
                    self.started = True
                    self.syncs += 1  # the startup ends with a ReadyForQuery
                continue
            if len(buf) < 5:
                return
            kind, length = chr(buf[0]), struct.unpack(">i", buf[1:5])[0]
            if len(buf) < 1 + length:
                return
            body = bytes(buf[5:1 + length])
            del buf[:1 + length]
            if self.listener:
                continue
            self.message(kind, body, trip)

    def message(self, kind: str, body: bytes, trip: int) -> None:
        if kind == "Q":
            self.syncs += 1
            sql = body.rstrip(b"\0").decode()
            if sql.lstrip().upper().startswith("LISTEN"):
                self.listener = True
                return
            self.executed.append(Executed(sql, [], self.connection, trip))
        elif kind == "S":
            self.syncs += 1
        elif kind == "P":
            name, rest = body.split(b"\0", 1)
            sql, rest = rest.split(b"\0", 1)
            (count,) = struct.unpack(">h", rest[:2])
            oids = list(struct.unpack(f">{count}I", rest[2:2 + 4 * count]))
            self.prepared[name] = (sql.decode(), oids)
        elif kind == "D" and body[:1] == b"S":
            # answered by a ParameterDescription unless an error skips to the Sync
            self.describes.append((self.syncs, body[1:].rstrip(b"\0")))
        elif kind == "C" and body[:1] == b"S":
            self.prepared.pop(body[1:].rstrip(b"\0"), None)
        elif kind == "B":
            self.executed.append(self.bound(body, trip))
        self.trace.append(f"{self.connection}:{kind}")

    def bound(self, body: bytes, trip: int) -> Executed:
        _portal, rest = body.split(b"\0", 1)
        name, rest = rest.split(b"\0", 1)
        sql, oids = self.prepared.get(name, ("<unknown statement>", []))
        (nformats,) = struct.unpack(">h", rest[:2])
        formats = list(struct.unpack(f">{nformats}h", rest[2:2 + 2 * nformats]))
        at = 2 + 2 * nformats
        (nparams,) = struct.unpack(">h", rest[at:at + 2])
        at += 2
        params = []
        for i in range(nparams):
            (size,) = struct.unpack(">i", rest[at:at + 4])
            at += 4
            raw = None if size < 0 else rest[at:at + size]
            at += max(size, 0)
            fmt = formats[0] if nformats == 1 else (formats[i] if nformats else 0)
            params.append(param_text(oids[i] if i < len(oids) else 0, fmt, raw))
        return Executed(sql, params, self.connection, trip)

    # --- the backend's messages: only what the client's side needs ---

    def parse_back(self) -> None:
        buf = self.back
        while True:
            if self.ssl_answers:
                if not buf:
                    return
                if buf[0] != ord("N"):
                    raise ValueError("encrypted: nothing more can be read")
                del buf[:1]
                self.ssl_answers -= 1
                continue
            if len(buf) < 5:
                return
            kind, length = chr(buf[0]), struct.unpack(">i", buf[1:5])[0]
            if len(buf) < 1 + length:
                return
            body = bytes(buf[5:1 + length])
            del buf[:1 + length]
            if kind == "Z":
                self.ready += 1
                # an error skipped the rest of its batch: its Describes get no answer (a
                # Describe sent after Sync number k is answered before ReadyForQuery k + 1)
                while self.describes and self.describes[0][0] < self.ready:
                    self.describes.popleft()
            elif kind == "t" and self.describes:
                _batch, name = self.describes.popleft()
                (count,) = struct.unpack(">h", body[:2])
                oids = list(struct.unpack(f">{count}I", body[2:2 + 4 * count]))
                if name in self.prepared:
                    self.prepared[name] = (self.prepared[name][0], oids)


class Tap:
    """A loopback TCP proxy in front of PostgreSQL (`upstream`), one Reader a connection. The
    connection that LISTENs (and its heartbeat) is left out of counts and statements."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.round_trips = 0
        self.trips_ever = 0  # never reset: Executed.trip
        self.readers: list[Reader] = []
        self.executed: list[Executed] = []
        self.trace: list[str] = []  # message types, "|" where a round trip starts
        self.closed = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.round_trips = 0
            self.executed = []
            self.trace = []

    def snapshot(self) -> tuple[int, list[Executed]]:
        with self.lock:
            return self.round_trips, list(self.executed)

    def lone_syncs(self) -> int:
        """Round trips that carried nothing but a Sync: sqlx's ping (on release to the pool)."""
        with self.lock:
            bursts = " ".join(self.trace).split("|")
        return sum(1 for b in bursts if b.split() and all(m.endswith(":S") for m in b.split()))

    def accept(self) -> None:
        n = 0
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            n += 1
            server = socket.create_connection(self.upstream)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sockets += [client, server]
            reader = Reader(n)
            # "turn": who wrote last, the fallback once a stream could not be read
            conn = {"reader": reader, "turn": "B"}
            with self.lock:
                self.readers.append(reader)
            threading.Thread(target=self.pump_frontend, args=(client, server, conn),
                             daemon=True).start()
            threading.Thread(target=self.pump_backend, args=(server, client, conn),
                             daemon=True).start()

    def pump_backend(self, server: socket.socket, client: socket.socket, conn: dict) -> None:
        try:
            while data := server.recv(65536):
                with self.lock:  # before forwarding: the reply is read before the next write
                    conn["turn"] = "B"
                    conn["reader"].from_server(data)
                client.sendall(data)
        except OSError:
            pass
        finally:
            shut(client, server)

    def pump_frontend(self, client: socket.socket, server: socket.socket, conn: dict) -> None:
        reader: Reader = conn["reader"]
        try:
            while data := client.recv(65536):
                with self.lock:
                    waited = conn["turn"] == "B" if reader.lost else reader.idle()
                    if reader.started and waited and not reader.listener:
                        self.round_trips += 1
                        self.trips_ever += 1
                        self.trace.append("|")
                    conn["turn"] = "F"
                    seen, traced = len(reader.executed), len(reader.trace)
                    reader.from_client(data, self.trips_ever)
                    if not reader.listener:
                        self.executed += reader.executed[seen:]
                        self.trace += reader.trace[traced:]
                    reader.executed.clear()
                    reader.trace.clear()
                server.sendall(data)
        except OSError:
            pass
        finally:
            shut(client, server)

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


def shut(*sockets: socket.socket) -> None:
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --- parameters --------------------------------------------------------------------------------

# a parameter of a type param_text cannot write: a script that needs it is not written
UNDECODED = "\0undecoded"
ARRAY_OF = {1000: 16, 1001: 17, 1005: 21, 1007: 23, 1016: 20, 1009: 25, 1015: 1043, 2951: 2950,
            1041: 869}
TEXT_OIDS = (18, 19, 25, 114, 1042, 1043)
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def param_text(oid: int, fmt: int, raw: bytes | None) -> str | None:
    """A bound parameter as PostgreSQL's text form (what pgbench passes); binary by type OID.
    A binary parameter of unknown type (OID 0: no Parse type and no Describe seen) is
    UNDECODED, never guessed."""
    if raw is None:
        return None
    if fmt == 0 or oid in TEXT_OIDS:
        return raw.decode()
    if oid == 2950:
        return str(uuid.UUID(bytes=raw))
    if oid in (20, 21, 23):
        return str(int.from_bytes(raw, "big", signed=True))
    if oid == 26:
        return str(int.from_bytes(raw, "big", signed=False))
    if oid == 16:
        return "t" if raw[0] else "f"
    if oid == 700:
        return repr(struct.unpack(">f", raw)[0])
    if oid == 701:
        return repr(struct.unpack(">d", raw)[0])
    if oid == 17:
        return "\\x" + raw.hex()
    if oid in (1114, 1184):
        moment = EPOCH + datetime.timedelta(microseconds=int.from_bytes(raw, "big", signed=True))
        return moment.isoformat()
    if oid == 1082:
        return (EPOCH.date() + datetime.timedelta(days=int.from_bytes(raw, "big",
                                                                      signed=True))).isoformat()
    if oid in (869, 650):
        # family, bits, is_cidr, length, address
        address = ipaddress.ip_address(raw[4:4 + raw[3]])
        return f"{address}/{raw[1]}" if raw[1] != address.max_prefixlen or oid == 650 \
            else str(address)
    if oid == 3802:
        return raw[1:].decode()
    if oid in ARRAY_OF:
        return array_text(ARRAY_OF[oid], raw)
    return UNDECODED


def array_text(element_oid: int, raw: bytes) -> str:
    """A one-dimensional binary array as its text form, e.g. {"a","b"}."""
    ndim, _has_null, _oid = struct.unpack(">iiI", raw[:12])
    if ndim == 0:
        return "{}"
    if ndim != 1:
        return UNDECODED
    (count, _lower) = struct.unpack(">ii", raw[12:20])
    at, items = 20, []
    for _ in range(count):
        (size,) = struct.unpack(">i", raw[at:at + 4])
        at += 4
        if size < 0:
            items.append("NULL")
            continue
        text = param_text(element_oid, 1, raw[at:at + size])
        at += size
        if text == UNDECODED:
            return UNDECODED
        items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"
