"""The web area's lab faults (web.*), on the web host (web1): Apache 2.4 serves two
name-based virtual hosts (www.lab.test, app.lab.test) on 127.0.0.1:8080 and the host's
address :8080; nginx answers :80 (a redirect to HTTPS) and :443 (TLS with a certificate
of the lab's own CA), serving its own page and proxying /app/ to Apache's app vhost.

The CA and the certificates are made on the controller (the `cryptography` package)
in lab/state/web/ (git-ignored): the CA once, the server certificate again when it
nears its end; the inventory names the CA's certificate (../lab/state/web/ca.pem) as
web.tls.ca_bundle. The faults are an admin's mistakes: a typo in a vhost file (not
reloaded: Apache's own test refuses it), a broken .htaccess (that location answers
500), a certificate close to its end or for another name installed and nginx
reloaded, TLS 1.0 enabled for an old client (ssl_protocols TLSv1 TLSv1.2, with the
OpenSSL security level 0 it needs since OpenSSL 3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import render
from .base import Fault

GROUP = "web"
NAMES = ("www.lab.test", "app.lab.test")
BOOT = "/etc/fleetcheck-lab/boot.d/web.sh"
TLS_DIR = "/etc/nginx/lab-tls"
CERT, KEY = f"{TLS_DIR}/www.pem", f"{TLS_DIR}/www.key"
NGINX_SITE = "/etc/nginx/sites-available/lab-www"
APP_DIR = "/var/www/lab-app"
HTACCESS = f"{APP_DIR}/.htaccess"
WWW_SITE = "/etc/apache2/sites-available/lab-www.conf"
GOOD_PROTOCOLS = "    ssl_protocols TLSv1.2 TLSv1.3;\n"
BAD_PROTOCOLS = "    ssl_protocols TLSv1 TLSv1.2;\n    ssl_ciphers DEFAULT:@SECLEVEL=0;\n"
TYPO = "    Redirectt permanent /old /new\n"     # an admin's typo of Redirect
NO_OVERRIDE = "        AllowOverride None\n"
ALL_OVERRIDE = "        AllowOverride All\n"

FAULTS = {
    "apache-syntax-error": Fault(GROUP, "a typo in Apache's www.lab.test vhost file "
                                 "(Redirectt for Redirect); not reloaded: the running "
                                 "Apache keeps serving", "web.config_valid", False),
    "vhost-500": Fault(GROUP, "a broken .htaccess (RewriteEngin On) in app.lab.test's "
                       "document root: that vhost, and nginx's /app/ proxied to it, answer "
                       "500", "web.responds", False),
    "cert-expiring": Fault(GROUP, "nginx's certificate is replaced by one of the lab CA "
                           "that expires in 3 days (web.tls.crit_days 7), nginx reloaded",
                           "web.tls", False),
    "cert-wrong-name": Fault(GROUP, "nginx's certificate is replaced by one for "
                             "other.lab.test, nginx reloaded", "web.tls", False),
    "userdir-enabled": Fault(GROUP, "`a2enmod userdir` (Debian's userdir.conf: "
                             "~user/ served from public_html), Apache reloaded", "web.userdir",
                             False),
    "allowoverride-all": Fault(GROUP, "`AllowOverride All` in www.lab.test's <Directory> "
                               "(an .htaccess may do anything), Apache reloaded",
                               "web.allow_override", True),
    "tls10-enabled": Fault(GROUP, "nginx accepts TLS 1.0 (ssl_protocols TLSv1 TLSv1.2; "
                           "ssl_ciphers DEFAULT:@SECLEVEL=0), nginx reloaded", "web.tls",
                           False),
}

SERVICES = {
    "apache2": render.LabService(
        process="apache2", pidfile="/run/apache2/apache2.pid",
        start="/usr/sbin/apache2ctl start",     # it makes its run and lock directories
        reload="/usr/sbin/apache2ctl graceful"),
    "nginx": render.LabService(
        process="nginx", pidfile="/run/nginx.pid", start="/usr/sbin/nginx",
        reload="/usr/sbin/nginx -s reload && sleep 0.5"),
}

# -- the lab CA and certificates (on the controller) -------------------------------------


def pki(lab) -> Path:
    """The lab CA's directory on the controller (lab/state/web/), made when missing."""
    path = Path(lab.state_dir) / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _ca(lab):
    """(CA certificate, CA key), made once in lab/state/web/."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    d = pki(lab)
    if (d / "ca.pem").exists() and (d / "ca.key").exists():
        return (x509.load_pem_x509_certificate((d / "ca.pem").read_bytes()),
                serialization.load_pem_private_key((d / "ca.key").read_bytes(), None))
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleetcheck lab CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    (d / "ca.key").write_text(_pem_key(key))
    (d / "ca.key").chmod(0o600)
    (d / "ca.pem").write_text(_pem_cert(cert))
    return cert, key


def issue(lab, names: tuple[str, ...], days: float) -> tuple[str, str]:
    """(certificate PEM, key PEM) for `names`, signed by the lab CA, valid `days`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca, ca_key = _ca(lab)
    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem_cert(cert), _pem_key(key)


def server_cert(lab) -> tuple[str, str]:
    """The healthy certificate of www.lab.test (a year; made again when under 60 days)."""
    from cryptography import x509

    d = pki(lab)
    pem, key = d / "www.pem", d / "www.key"
    if pem.exists() and key.exists():
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        left = cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
        if left > dt.timedelta(days=60):
            return pem.read_text(), key.read_text()
    cert_pem, key_pem = issue(lab, ("www.lab.test", "web1.lab.test"), 365)
    key.write_text(key_pem)
    key.chmod(0o600)
    pem.write_text(cert_pem)
    return cert_pem, key_pem


# -- the files on the web host ------------------------------------------------------------

def nginx_site() -> str:
    return f"""# fleetcheck lab (lab/faults/web.py): www.lab.test over HTTPS, /app/ proxied to Apache
server {{
    listen 80 default_server;
    server_name www.lab.test;
    location / {{ return 301 https://$host$request_uri; }}
}}
server {{
    listen 443 ssl default_server;
    server_name www.lab.test;
    ssl_certificate {CERT};
    ssl_certificate_key {KEY};
{GOOD_PROTOCOLS}    root /var/www/lab-nginx;
    index index.html;
    location /app/ {{
        proxy_pass http://127.0.0.1:8080/;
        proxy_set_header Host app.lab.test;
        proxy_set_header X-Forwarded-For $remote_addr;
    }}
}}
"""


def apache_files(h) -> dict[str, str]:
    return {
        "/etc/apache2/ports.conf": "# fleetcheck lab (lab/faults/web.py): behind nginx, and on "
                                   "the lab network\nServerName web1.lab.test\n"
                                   f"Listen 127.0.0.1:8080\nListen {h.address}:8080\n",
        WWW_SITE: ("<VirtualHost *:8080>\n    ServerName www.lab.test\n"
                   "    DocumentRoot /var/www/lab-www\n"
                   f"    <Directory /var/www/lab-www>\n{NO_OVERRIDE}"
                   "        Require all granted\n    </Directory>\n"
                   "    ErrorLog ${APACHE_LOG_DIR}/lab-www-error.log\n"
                   "    CustomLog ${APACHE_LOG_DIR}/lab-www-access.log combined\n"
                   "</VirtualHost>\n"),
        "/etc/apache2/sites-available/lab-app.conf": (
            "<VirtualHost *:8080>\n    ServerName app.lab.test\n"
            f"    DocumentRoot {APP_DIR}\n    <Directory {APP_DIR}>\n"
            "        AllowOverride FileInfo\n        Require all granted\n    </Directory>\n"
            "    ErrorLog ${APACHE_LOG_DIR}/lab-app-error.log\n"
            "    CustomLog ${APACHE_LOG_DIR}/lab-app-access.log combined\n"
            "</VirtualHost>\n"),
        "/var/www/lab-www/index.html": "fleetcheck lab: www (apache)\n",
        f"{APP_DIR}/index.html": "fleetcheck lab: app (apache)\n",
        "/var/www/lab-nginx/index.html": "fleetcheck lab: www (nginx)\n",
    }


BOOT_WEB = f"""# fleetcheck lab (lab/faults/web.py): the lab's vhosts and site in place of Debian's
[ -x /usr/sbin/apache2 ] && {{ a2dissite -q 000-default; a2ensite -q lab-www lab-app; }} >/dev/null 2>&1
if [ -x /usr/sbin/nginx ]; then
  rm -f /etc/nginx/sites-enabled/default
  ln -sfn ../sites-available/lab-www /etc/nginx/sites-enabled/lab-www
fi
chmod 0600 {KEY} 2>/dev/null
exit 0
"""


def host_files(lab, h) -> dict[str, str]:
    """The web host: Apache's vhosts, nginx's site and the lab CA's certificate for
    www.lab.test (the other hosts keep the packages' stock configurations)."""
    if not h.has(GROUP):
        return {}
    cert, key = server_cert(lab)
    return {BOOT: BOOT_WEB, NGINX_SITE: nginx_site(), CERT: cert, KEY: key,
            **apache_files(h)}


# -- the faults -----------------------------------------------------------------------------

def _apache_syntax_error(lab, h, heal):
    good = apache_files(h)[WWW_SITE]
    lab.put_file(h.name, WWW_SITE, good if heal else good.replace(
        "</VirtualHost>\n", TYPO + "</VirtualHost>\n"))


def _vhost_500(lab, h, heal):
    if heal:
        lab.exec(h.name, ["rm", "-f", HTACCESS], check=True)
    else:
        lab.put_file(h.name, HTACCESS, "RewriteEngin On\n")


def _install_cert(lab, h, cert: str, key: str):
    lab.put_file(h.name, KEY, key, mode=0o600)
    lab.put_file(h.name, CERT, cert)
    lab.exec(h.name, ["labsvc", "reload", "nginx"], check=True)


def _cert_expiring(lab, h, heal):
    _install_cert(lab, h, *(server_cert(lab) if heal else
                            issue(lab, ("www.lab.test", "web1.lab.test"), 3)))


def _cert_wrong_name(lab, h, heal):
    _install_cert(lab, h, *(server_cert(lab) if heal else issue(lab, ("other.lab.test",), 365)))


def _tls10_enabled(lab, h, heal):
    good = nginx_site()
    lab.put_file(h.name, NGINX_SITE, good if heal else good.replace(GOOD_PROTOCOLS,
                                                                    BAD_PROTOCOLS))
    lab.exec(h.name, ["labsvc", "reload", "nginx"], check=True)


def _apache_reload(lab, h):
    lab.exec(h.name, ["labsvc", "reload", "apache2"], check=True)


def _userdir_enabled(lab, h, heal):
    lab.exec(h.name, ["a2dismod" if heal else "a2enmod", "-q", "userdir"], check=True)
    _apache_reload(lab, h)


def _allowoverride_all(lab, h, heal):
    good = apache_files(h)[WWW_SITE]
    lab.put_file(h.name, WWW_SITE, good if heal else good.replace(NO_OVERRIDE, ALL_OVERRIDE))
    _apache_reload(lab, h)
