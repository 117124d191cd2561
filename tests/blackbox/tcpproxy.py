"""tcpproxy.py -- a loopback TCP proxy for fault tests: relays bytes, and cuts on command.

The daemon connects to the proxy instead of the broker. cut() drops every open connection
at once, in both directions, as a network failure would: abruptly (RST) or politely (FIN),
at whatever byte the stream has reached. chaos() does that at random moments from a
background thread. One selector thread relays everything; the counters say what happened.
"""

import random
import selectors
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0      # client connections relayed to the target
        self.cuts = 0          # cut() calls that found at least one connection to drop
        self.dropped = 0       # connections dropped by cut()
        self.bytes = 0         # bytes relayed, both directions
        self._peer = {}        # socket -> the socket at the other end of its pair
        self._clients = set()  # the client end of each pair
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self.listener, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._pending = []     # (abrupt, threading.Event) cut requests for the relay thread
        self._closing = False
        self._chaos_stop = threading.Event()
        self._chaos = None
        self._thread = threading.Thread(target=self._run, name="tcpproxy", daemon=True)
        self._thread.start()

    # --- commands (any thread) -------------------------------------------------------------

    def cut(self, abrupt=True, timeout=5.0):
        """Drops every open connection; returns how many pairs were dropped."""
        done = threading.Event()
        with self._lock:
            before = self.dropped
            self._pending.append((abrupt, done))
        self._wake_w.send(b"x")
        done.wait(timeout)
        with self._lock:
            return self.dropped - before

    def chaos(self, min_s, max_s, seed=None):
        """Cuts at random intervals drawn from [min_s, max_s] until stop_chaos()."""
        rng = random.Random(seed)
        self._chaos_stop.clear()

        def loop():
            while not self._chaos_stop.wait(rng.uniform(min_s, max_s)):
                self.cut(abrupt=rng.random() < 0.5)
        self._chaos = threading.Thread(target=loop, name="tcpproxy-chaos", daemon=True)
        self._chaos.start()

    def stop_chaos(self):
        self._chaos_stop.set()
        if self._chaos:
            self._chaos.join()
            self._chaos = None

    def open_connections(self):
        with self._lock:
            return len(self._clients)

    def close(self):
        self.stop_chaos()
        self._closing = True
        self._wake_w.send(b"x")
        self._thread.join(5)
        for s in list(self._peer):
            s.close()
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._sel.close()

    # --- the relay thread ------------------------------------------------------------------

    def _drop(self, s, abrupt=False):
        """Closes s and its peer; with abrupt, an RST instead of a FIN."""
        with self._lock:
            peer = self._peer.pop(s, None)
            if peer is not None:
                self._peer.pop(peer, None)
            self._clients.discard(s)
            self._clients.discard(peer)
        for x in (s, peer):
            if x is None:
                continue
            try:
                self._sel.unregister(x)
            except (KeyError, ValueError):
                pass
            if abrupt:
                x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            x.close()

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()  # the target is down: so is the proxy, for this client
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(5)  # a peer that stops reading ends its pair instead of the relay
        with self._lock:
            self._peer[client] = upstream
            self._peer[upstream] = client
            self._clients.add(client)
            self.accepted += 1
        self._sel.register(client, selectors.EVENT_READ, "relay")
        self._sel.register(upstream, selectors.EVENT_READ, "relay")

    def _relay(self, s):
        peer = self._peer.get(s)
        if peer is None:
            return
        try:
            data = s.recv(65536)
            if data:
                peer.sendall(data)
                self.bytes += len(data)
                return
        except OSError:
            pass
        self._drop(s)

    def _do_cuts(self):
        with self._lock:
            pending, self._pending = self._pending, []
        for abrupt, done in pending:
            with self._lock:
                victims = list(self._clients)
            for s in victims:
                self._drop(s, abrupt)
            with self._lock:
                self.dropped += len(victims)
                self.cuts += bool(victims)
            done.set()

    def _run(self):
        while not self._closing:
            for key, _ in self._sel.select():
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    key.fileobj.recv(4096)
                    self._do_cuts()
                else:
                    self._relay(key.fileobj)
