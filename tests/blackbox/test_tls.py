"""test_tls.py -- TLS to the broker, client certificates and secrets on disk (issue 7)

Certificates are made at test time with openssl: a CA, a server certificate for 127.0.0.1
and a client certificate signed by it, and a second CA that signed nothing the broker has.
The broker gets a TLS listener for the daemon beside its plain one for the tests' clients.
"""

import re
import subprocess

import pytest

from conftest import free_port, wait_until
from test_faults import auth_broker, ext_brokers  # noqa: F401 (fixture)

READ = "value/light"
ORDER = "light/order"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_cert(d, name, subject, ca=None, ext=None):
    """An EC key and a certificate for `subject`, self-signed (a CA) or signed by `ca`."""
    if ca is None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", subject, cwd=d)
        return
    (d / f"{name}.ext").write_text(ext + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
            cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_cert(d, "ca", "/CN=pylight test CA")
    make_cert(d, "server", "/CN=localhost", ca="ca",
              ext="subjectAltName=DNS:localhost,IP:127.0.0.1")
    make_cert(d, "client", "/CN=pylight", ca="ca", ext="extendedKeyUsage=clientAuth")
    make_cert(d, "other-ca", "/CN=somebody else's CA")
    make_cert(d, "stranger", "/CN=elsewhere.example", ca="ca",
              ext="subjectAltName=DNS:elsewhere.example")
    return d


def tls_broker(ext_brokers, pki, require_certificate=False, cert="server"):
    """A broker with a plain listener (tests' clients) and a TLS one at `tls_port`."""
    port = free_port()
    b = ext_brokers(tail=[f"listener {port} 127.0.0.1", f"cafile {pki}/ca.crt",
                          f"certfile {pki}/{cert}.crt", f"keyfile {pki}/{cert}.key",
                          f"require_certificate {str(require_certificate).lower()}"])
    b.tls_port = port
    return b


def tls_daemon(daemon, b, **mqtt):
    return daemon(on=b, wait=False, ini={"mqtt": {"port": str(b.tls_port), **mqtt}})


def works(d, mqtt, b):
    d.wait_ready()
    c = mqtt(ORDER + "/#", on=b)
    c.publish(READ + "/tls", "100")
    c.wait_for(ORDER + "/tls", "ON")
    assert d.alive()


def test_tls_server_verified_with_ca_file(ext_brokers, pki, daemon, mqtt):
    b = tls_broker(ext_brokers, pki)
    d = tls_daemon(daemon, b, tls_ca_file=f"{pki}/ca.crt")
    works(d, mqtt, b)


def tried_again_after_loop_end(d, regex):
    """After libmosquitto's loop ended on a fatal error, a new attempt failed the same way."""
    log = d.log()
    end = log.find("mqtt: network loop ended")
    return end >= 0 and re.search(r"^warning: mqtt: .*" + regex, log[end:], re.M)


@pytest.mark.parametrize("ca, cert", [("other-ca", "server"), ("ca", "stranger")],
                         ids=["unknown-ca", "certificate-for-another-host"])
def test_tls_unverifiable_server_refused_with_clear_error(ext_brokers, pki, daemon, notify,
                                                         ca, cert):
    b = tls_broker(ext_brokers, pki, cert=cert)
    d = daemon(on=b, wait=False, env={"NOTIFY_SOCKET": notify.path},
               ini={"mqtt": {"port": str(b.tls_port), "tls_ca_file": f"{pki}/{ca}.crt"}})
    d.wait_log(r"^warning: mqtt: .*certificate verify failed")
    notify.wait_status(r"certificate verify failed")
    # It keeps trying: the fatal TLS error ended libmosquitto's loop, which is restarted.
    wait_until(lambda: tried_again_after_loop_end(d, "certificate verify failed"),
               what="an attempt after the loop's restart")
    assert d.alive()
    assert b.connections(d.client_id) == 0, "connected to a broker it could not verify"


def test_tls_client_certificate_required_and_accepted(ext_brokers, pki, daemon, mqtt, notify):
    b = tls_broker(ext_brokers, pki, require_certificate=True)
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
def test_password_kept_private_connects_without_warning(ext_brokers, tmp_path, daemon, mqtt,
                                                        where):
    b = auth_broker(ext_brokers, tmp_path, password=PASSWORD)
    d, secret = secret_daemon(daemon, b, tmp_path, where, 0o600)
    works(d, mqtt, b)
    assert not re.search(READABLE.format(path=re.escape(str(secret))), d.log(), re.M), d.log()


@pytest.mark.parametrize("where", ["password_file", "ini"])
def test_password_readable_by_others_draws_a_warning(ext_brokers, tmp_path, daemon, mqtt, where):
    b = auth_broker(ext_brokers, tmp_path, password=PASSWORD)
    d, secret = secret_daemon(daemon, b, tmp_path, where, 0o644)
    d.wait_log(READABLE.format(path=re.escape(str(secret))))
    works(d, mqtt, b)  # a warning, not a refusal
