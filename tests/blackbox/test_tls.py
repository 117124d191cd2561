"""test_tls.py -- TLS to the broker, client certificates and secrets on disk

Certificates are made at test time with openssl (conftest.py's pki fixture): a CA, a server
certificate for 127.0.0.1 and a client certificate signed by it, and a second CA that signed
nothing the broker has. The broker gets a TLS listener for the daemon beside its plain one for
the tests' clients.
"""

import re

import pytest

from conftest import auth_broker, tls_broker, wait_until, works


def tls_daemon(daemon, b, **mqtt):
    return daemon(on=b, wait=False, ini={"mqtt": {"port": str(b.tls_port), **mqtt}})


def test_tls_server_verified_with_ca_file(broker_factory, pki, daemon, mqtt):
    b = tls_broker(broker_factory, pki)
    d = tls_daemon(daemon, b, tls_ca_file=f"{pki}/ca.crt")
    works(d, mqtt, b)


def tried_again(d, regex):
    """A second attempt failed the same way. When the first handshake failed in libmosquitto's
    loop, that ends the loop and the daemon restarts it: the attempt must come after that.
    When it failed in the connect begun from the main thread, the loop retries by itself."""
    log = d.log()
    end = log.find("mqtt: network loop ended")
    attempts = re.findall(r"^warning: mqtt: .*" + regex, log[end:] if end >= 0 else log, re.M)
    return len(attempts) >= (1 if end >= 0 else 2)


@pytest.mark.parametrize("ca, cert", [("other-ca", "server"), ("ca", "stranger")],
                         ids=["unknown-ca", "certificate-for-another-host"])
def test_tls_unverifiable_server_refused_with_clear_error(broker_factory, pki, daemon, notify,
                                                         ca, cert):
    b = tls_broker(broker_factory, pki, cert=cert)
    d = daemon(on=b, wait=False, env={"NOTIFY_SOCKET": notify.path},
               ini={"mqtt": {"port": str(b.tls_port), "tls_ca_file": f"{pki}/{ca}.crt"}})
    d.wait_log(r"^warning: mqtt: .*certificate verify failed")
    notify.wait_status(r"certificate verify failed")
    # It keeps trying, whichever thread saw the first refusal.
    wait_until(lambda: tried_again(d, "certificate verify failed"),
               what="a second attempt, after the loop's restart if it ended")
    assert d.alive()
    assert b.connections(d.client_id) == 0, "connected to a broker it could not verify"


def test_tls_client_certificate_required_and_accepted(broker_factory, pki, daemon, mqtt, notify):
    b = tls_broker(broker_factory, pki, require_certificate=True)
    without = daemon(on=b, wait=False, env={"NOTIFY_SOCKET": notify.path},
                     ini={"mqtt": {"port": str(b.tls_port), "tls_ca_file": f"{pki}/ca.crt"}})
    d = tls_daemon(daemon, b, tls_ca_file=f"{pki}/ca.crt",
                   tls_cert_file=f"{pki}/client.crt", tls_key_file=f"{pki}/client.key")
    works(d, mqtt, b)
    # The broker really demands a certificate: the daemon without one is turned away,
    # and says so.
    without.wait_log(r"^warning: mqtt: .*certificate required")
    notify.wait_status(r"certificate required")
    assert b.connections(without.client_id) == 0
    assert without.alive()


# --- credentials on disk ----------------------------------------------------------------------

PASSWORD = "s3cret-from-file"
READABLE = r"^warning: {path}: .*readable by other users"


def secret_daemon(daemon, b, tmp_path, where, mode):
    """A daemon whose password for `b` is kept in a password_file or in the ini, `mode`."""
    if where == "password_file":
        pw = tmp_path / "mqtt.password"
        pw.write_text(PASSWORD + "\n")
        pw.chmod(mode)
        d = daemon(on=b, start=False,
                   ini={"mqtt": {"port": str(b.auth_port), "password_file": str(pw)}})
        secret = pw
    else:
        d = daemon(on=b, start=False,
                   ini={"mqtt": {"port": str(b.auth_port), "password": PASSWORD}})
        d.ini_path.chmod(mode)
        secret = d.ini_path
    return d.start(wait=False), secret


@pytest.mark.parametrize("where", ["password_file", "ini"])
def test_password_kept_private_connects_without_warning(broker_factory, tmp_path, daemon, mqtt,
                                                        where):
    b = auth_broker(broker_factory, tmp_path, password=PASSWORD)
    d, secret = secret_daemon(daemon, b, tmp_path, where, 0o600)
    works(d, mqtt, b)
    assert not re.search(READABLE.format(path=re.escape(str(secret))), d.log(), re.M), d.log()


@pytest.mark.parametrize("where", ["password_file", "ini"])
def test_password_readable_by_others_draws_a_warning(broker_factory, tmp_path, daemon, mqtt, where):
    b = auth_broker(broker_factory, tmp_path, password=PASSWORD)
    d, secret = secret_daemon(daemon, b, tmp_path, where, 0o644)
    d.wait_log(READABLE.format(path=re.escape(str(secret))))
    works(d, mqtt, b)  # a warning, not a refusal
