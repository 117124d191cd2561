"""rawmqtt.py -- MQTT 3.1.1 packets written by hand, for the tests and benches that send tens
of thousands of messages at QoS 0, far faster than a client library would.

Used by tests/blackbox (through conftest.py's path) and tests/bench/web.py.
"""

import os
import socket
from contextlib import contextmanager


def packet(kind, body):
    """A packet: its first byte, the remaining length (variable-length encoded), the body."""
    n, size = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        size.append(byte | (128 if n else 0))
        if not n:
            return bytes([kind]) + bytes(size) + body


def utf8(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def publish(topic, payload, retain=False):
    """A PUBLISH at QoS 0; `payload` is bytes."""
    return packet(0x31 if retain else 0x30, utf8(topic) + payload)


@contextmanager
def session(port, name):
    """A socket connected as client NAME-PID (its CONNACK read), disconnected on leaving."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(packet(0x10, utf8("MQTT") + bytes([4, 2, 0, 60]) +
                         utf8(f"{name}-{os.getpid()}")))
        ack = s.recv(4)
        if ack[:1] != b"\x20":
            raise ConnectionError(f"the broker did not accept {name}: {ack!r}")
        yield s
        s.sendall(packet(0xE0, b""))


def retain_many(port, messages, name, batch=2000):
    """Publishes (topic, payload text) pairs retained at QoS 0 on one connection, `batch`
    packets to a write."""
    with session(port, name) as s:
        out = []
        for topic, payload in messages:
            out.append(publish(topic, payload.encode(), retain=True))
            if len(out) == batch:
                s.sendall(b"".join(out))
                out = []
        s.sendall(b"".join(out))
