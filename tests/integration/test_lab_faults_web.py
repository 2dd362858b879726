"""The web area's lab faults (lab/faults/web.py) on web1, each seen by a probe on the
host (Apache's own test, the page through Apache, the certificate nginx serves and the
protocols it accepts, with openssl) and gone once healed; and the controller's own
probes (fleetcheck.probes.web) against the healthy and broken nginx, at web1's lab
address."""

from __future__ import annotations

import pytest

from fleetcheck.probes import web as webprobe

pytestmark = pytest.mark.integration

WEB1 = "10.213.47.30"
SERVED = ("echo | openssl s_client -connect 127.0.0.1:443 -servername www.lab.test "
          "2>/dev/null | openssl x509 -noout")


def status(vhost: str) -> str:
    """A shell command that prints the status Apache answers for vhost's / on web1."""
    return ("python3 -c \"import urllib.request as r, urllib.error as e\n"
            "try: print(r.urlopen(r.Request('http://127.0.0.1:8080/', headers={'Host': "
            f"'{vhost}'}}), timeout=5).status)\n"
            "except e.HTTPError as x: print(x.code)\"")


APP_STATUS = status("app.lab.test")


def test_apache_syntax_error(healthy, ssh):
    ssh.toggles("web1", "apache-syntax-error",
                "apache2ctl -t >/dev/null 2>&1 && echo ok || echo broken", "ok", "broken")


def test_apache_keeps_serving_with_the_typo(healthy, ssh):
    healthy.fault("web1", "apache-syntax-error")
    assert ssh.out("web1", APP_STATUS).strip() == "200", "not reloaded: still serving"


def test_vhost_500(healthy, ssh):
    ssh.toggles("web1", "vhost-500", APP_STATUS, "200", "500")


def test_cert_expiring(healthy, ssh):
    ssh.toggles("web1", "cert-expiring", SERVED + " -checkend 604800 || true",
                "Certificate will not expire", "Certificate will expire")


def test_cert_wrong_name(healthy, ssh):
    ssh.toggles("web1", "cert-wrong-name",
                SERVED + " -ext subjectAltName | tail -n 1 | tr -d ' '",
                "DNS:www.lab.test,DNS:web1.lab.test", "DNS:other.lab.test")


def test_tls10_enabled(healthy, ssh):
    ssh.toggles("web1", "tls10-enabled",
                "openssl s_client -tls1 -cipher DEFAULT:@SECLEVEL=0 -connect 127.0.0.1:443 "
                "</dev/null >/dev/null 2>&1 && echo accepted || echo refused",
                "refused", "accepted")


def test_userdir_enabled(healthy, ssh):
    ssh.toggles("web1", "userdir-enabled",
                "apache2ctl -M 2>/dev/null | grep -c userdir_module || true", "0", "1")


def test_allowoverride_all(healthy, ssh):
    """Seen by its effect: an .htaccess that denies everything is ignored under
    AllowOverride None and obeyed under All."""
    htaccess = "/var/www/lab-www/.htaccess"
    healthy.put_file("web1", htaccess, "Require all denied\n")
    try:
        ssh.toggles("web1", "allowoverride-all", status("www.lab.test"), "200", "403")
    finally:
        ssh.out("web1", f"rm -f {htaccess}")


def test_controller_probes(healthy):
    ca = str(healthy.state_dir / "web" / "ca.pem")
    res = webprobe.probe_tls(WEB1, 443, "www.lab.test", cafile=ca, timeout=5,
                             minimum="TLSv1.2")
    assert res.error is None and res.verify_error is None and res.days_left > 300
    assert res.accepted == {"TLSv1": False, "TLSv1.1": False}
    ans = webprobe.fetch("https://www.lab.test/app/", WEB1, timeout=5, max_body=4096,
                         verify=ca)
    assert (ans.status, ans.body) == (200, "fleetcheck lab: app (apache)\n")
    ans = webprobe.fetch("http://www.lab.test/", WEB1, timeout=5, max_body=4096,
                         follow=True, verify=ca)
    assert ans.status == 200 and ans.hops == ["301 -> https://www.lab.test/"]
    healthy.fault("web1", "tls10-enabled")
    res = webprobe.probe_tls(WEB1, 443, "www.lab.test", cafile=ca, timeout=5,
                             minimum="TLSv1.2")
    assert res.accepted["TLSv1"] is True


@pytest.mark.parametrize("host, vhosts", [("web1", {"app.lab.test", "www.lab.test"}),
                                          ("ns1", {"localhost", "ns1"})])
def test_the_web_fact_on_real_outputs(healthy, ssh, host, vhosts):
    """The fact's script and parser on Debian 12's Apache 2.4 and nginx: the lab's
    vhosts on web1, the packages' stock configuration on ns1."""
    from fleetcheck.facts import web as webfact

    text = ssh.out(host, webfact.command({}).render())
    print(text)         # -rA shows it: the captured fixtures' source
    cfg = webfact.parse(text)
    # Apache 2.4 prints no "Syntax OK" with -D DUMP_VHOSTS: its exit status says it
    assert cfg.apache.valid and cfg.nginx.valid and cfg.nginx.syntax_ok, cfg
    names = {v.name for v in cfg.apache.vhosts}
    assert names and (host != "web1" or names == vhosts), names
