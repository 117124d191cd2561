"""test_mqtt_log.py -- libmosquitto's own log is heard while connecting, not while connected

With a log callback set, libmosquitto formats a debug line for every packet, which cost the
daemon 40% of its instructions per reading (`make bench`, callgrind). So the daemon listens
only while it is not connected. What must not be lost: after a connection that worked, the
next failure to connect still says why, in libmosquitto's words.
"""

import re

from conftest import tls_broker, works


def test_tls_failure_after_a_working_connection_still_says_why(broker_factory, pki, daemon,
                                                               mqtt):
    b = tls_broker(broker_factory, pki)
    d = daemon(on=b, wait=False, ini={"mqtt": {"port": str(b.tls_port),
                                               "tls_ca_file": f"{pki}/ca.crt",
                                               "reconnect_max": "2"}})
    works(d, mqtt, b)
    assert not re.search(r"certificate verify failed", d.log())

    # The broker comes back with a certificate for another host: the reconnect must fail,
    # and the daemon must tell why, as it does when the very first connection fails.
    b.stop()
    b.tail = [line.replace(f"{pki}/server.", f"{pki}/stranger.") for line in b.tail]
    b.start()
    d.wait_log(r"^warning: mqtt: connection lost")
    d.wait_log(r"^warning: mqtt: .*certificate verify failed", timeout=30)
    assert d.alive(), "a TLS failure on reconnect must not end the daemon"
