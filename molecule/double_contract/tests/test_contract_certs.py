"""Contract of the double's `kubeadm certs check-expiration` and `kubeadm certs renew` against
the texts recorded in FACTS-2 part B §5. Runs after test_contract.py, on the cluster it leaves:
dblc-cp1 (init node, has super-admin.conf) and dblc-cp2 (joined) behind the load balancer."""

from __future__ import annotations

import base64
import json
import re
import ssl

import pytest
import testinfra
import yaml
from cryptography import x509
from test_contract import ETCDCTL, wait_until

LB, CP1, CP2 = "dblc-lb", "dblc-cp1", "dblc-cp2"
ADDRESSES = {CP1: "172.28.44.11", CP2: "172.28.44.12"}
NAMES = [
    "admin.conf",
    "apiserver",
    "apiserver-etcd-client",
    "apiserver-kubelet-client",
    "controller-manager.conf",
    "etcd-healthcheck-client",
    "etcd-peer",
    "etcd-server",
    "front-proxy-client",
    "scheduler.conf",
    "super-admin.conf",
]
CA_OF = {
    "apiserver-etcd-client": "etcd-ca",
    "etcd-healthcheck-client": "etcd-ca",
    "etcd-peer": "etcd-ca",
    "etcd-server": "etcd-ca",
    "front-proxy-client": "front-proxy-ca",
}
RENEW_ALL = """\
certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed
certificate for serving the Kubernetes API renewed
certificate the apiserver uses to access etcd renewed
certificate for the API server to connect to kubelet renewed
certificate embedded in the kubeconfig file for the controller manager to use renewed
certificate for liveness probes to healthcheck etcd renewed
certificate for etcd nodes to communicate with each other renewed
certificate for serving etcd renewed
certificate for the front proxy client renewed
certificate embedded in the kubeconfig file for the scheduler manager to use renewed
certificate embedded in the kubeconfig file for the super-admin renewed

Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, \
so that they can use the new certificates.
"""
# The scenario's double claims v1.37.1: the 1.34+ wording of FACTS-2 part B §5.2/§5.4.
PREAMBLE = """\
[{p}] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...
[{p}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.

"""
DAY = 86400


@pytest.fixture(scope="module")
def node():
    hosts = {name: testinfra.get_host(f"docker://{name}") for name in (LB, CP1, CP2)}
    assert hosts[CP1].file("/etc/kubernetes/super-admin.conf").exists, "run after test_contract.py (needs its cluster)"
    yield hosts.__getitem__
    for name in (CP1, CP2):
        hosts[name].run("rm -f /etc/kubeadm-double/clock-offset")


def expiration(host) -> dict:
    result = host.run("kubeadm certs check-expiration -o json")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def served_serial(name: str) -> int | None:
    """Serial of the certificate the API server on that control plane serves on :6443."""
    try:
        pem = ssl.get_server_certificate((ADDRESSES[name], 6443), timeout=5)
    except OSError:
        return None
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def file_cert(host, path: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(host.file(path).content_string.encode())


def kubeconfig_cert(host, path: str) -> x509.Certificate:
    config = yaml.safe_load(host.run(f"cat {path}").stdout)
    return x509.load_pem_x509_certificate(base64.b64decode(config["users"][0]["user"]["client-certificate-data"]))


def test_check_expiration_text_is_kubeadms_table(node):
    result = node(CP1).run("kubeadm certs check-expiration")
    assert result.rc == 0, result.stderr
    assert result.stdout.startswith(PREAMBLE.format(p="check-expiration"))
    lines = result.stdout.splitlines()[3:]
    assert lines[0] == (
        "CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED"
    )
    for name, line in zip(NAMES, lines[1:12]):
        ca = CA_OF.get(name, "ca")
        assert re.fullmatch(
            re.escape(name.ljust(27))
            + rf"[A-Z][a-z]{{2}} \d\d, \d{{4}} \d\d:\d\d UTC   36[45]d {{12}}{ca:<24}no {{6}}",
            line,
        ), line
    assert lines[12] == ""
    assert lines[13] == "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED"
    assert [line.split()[0] for line in lines[14:]] == ["ca", "etcd-ca", "front-proxy-ca"]
    assert all(re.search(r"UTC   9y              no {6}$", line) for line in lines[14:]), lines[14:]


def test_check_expiration_on_a_joined_node_reports_super_admin_missing(node):
    result = node(CP2).run("kubeadm certs check-expiration")
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    # the long MISSING cell widens column 0 to 29, as in the recorded kind output
    assert lines[3].startswith("CERTIFICATE                  EXPIRES")
    assert lines[14] == "!MISSING! super-admin.conf".ljust(29 + 25 + 16 + 24)


def test_check_expiration_json_and_yaml_shape(node):
    info = expiration(node(CP1))
    assert list(info) == ["kind", "apiVersion", "certificates", "certificateAuthorities"]
    assert (info["kind"], info["apiVersion"]) == ("CertificateExpirationInfo", "output.kubeadm.k8s.io/v1alpha3")
    assert [c["name"] for c in info["certificates"]] == NAMES
    first = info["certificates"][1]
    assert list(first) == ["name", "expirationDate", "residualTime", "externallyManaged", "caName", "missing"]
    served = file_cert(node(CP1), "/etc/kubernetes/pki/apiserver.crt")
    assert first["expirationDate"] == served.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 364 * DAY < first["residualTime"] <= 365 * DAY
    assert [list(ca) for ca in info["certificateAuthorities"]] == [
        ["name", "expirationDate", "residualTime", "externallyManaged", "missing"]
    ] * 3
    missing = expiration(node(CP2))["certificates"][-1]
    assert missing == {
        "name": "super-admin.conf",
        "expirationDate": None,
        "residualTime": 0,
        "externallyManaged": False,
        "caName": "ca",
        "missing": True,
    }
    as_yaml = node(CP1).run("kubeadm certs check-expiration -o yaml")
    assert as_yaml.rc == 0
    assert yaml.safe_load(as_yaml.stdout)["certificates"][1]["residualTime"] <= first["residualTime"] + 5


def test_renew_all_under_a_forward_clock_renews_real_certificates(node):
    host = node(CP1)
    assert host.run("echo 7920h > /etc/kubeadm-double/clock-offset").rc == 0  # 330 days ahead
    before = expiration(host)
    assert all(30 * DAY < c["residualTime"] < 36 * DAY for c in before["certificates"]), before
    old_api = file_cert(host, "/etc/kubernetes/pki/apiserver.crt")
    old_admin = kubeconfig_cert(host, "/etc/kubernetes/admin.conf")
    old_served = served_serial(CP1)
    assert old_served == old_api.serial_number

    result = host.run("kubeadm certs renew all")
    assert result.rc == 0, result.stderr
    assert result.stdout == PREAMBLE.format(p="renew") + RENEW_ALL

    after = expiration(host)
    assert all(364 * DAY < c["residualTime"] <= 365 * DAY for c in after["certificates"]), after
    pairs = zip(after["certificateAuthorities"], before["certificateAuthorities"])
    assert all(abs(a["residualTime"] - b["residualTime"]) < 60 for a, b in pairs), "CAs are never renewed"
    new_api = file_cert(host, "/etc/kubernetes/pki/apiserver.crt")
    ca = file_cert(host, "/etc/kubernetes/pki/ca.crt")
    assert new_api.serial_number != old_api.serial_number
    assert new_api.subject == old_api.subject
    san = x509.SubjectAlternativeName
    assert new_api.extensions.get_extension_for_class(san) == old_api.extensions.get_extension_for_class(san)
    assert new_api.public_key().public_numbers() != old_api.public_key().public_numbers()
    ca.verify_directly_issued_by(ca)
    new_api.verify_directly_issued_by(ca)
    new_admin = kubeconfig_cert(host, "/etc/kubernetes/admin.conf")
    assert new_admin.serial_number != old_admin.serial_number
    assert new_admin.subject == old_admin.subject
    for path in (
        "/etc/kubernetes/pki/apiserver.key",
        "/etc/kubernetes/pki/etcd/server.key",
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/super-admin.conf",
        "/etc/kubernetes/controller-manager.conf",
        "/etc/kubernetes/scheduler.conf",
    ):
        assert host.file(path).mode == 0o600, path
    # the running API server keeps the old certificate until its static pod restarts
    assert served_serial(CP1) == old_served

    for manifest in ("kube-apiserver", "etcd"):
        assert host.run(f"mv /etc/kubernetes/manifests/{manifest}.yaml /etc/kubernetes/{manifest}.yaml.moved").rc == 0
    wait_until(lambda: served_serial(CP1) is None, 30, "cp1's API server has stopped")
    for manifest in ("kube-apiserver", "etcd"):
        assert host.run(f"mv /etc/kubernetes/{manifest}.yaml.moved /etc/kubernetes/manifests/{manifest}.yaml").rc == 0
    wait_until(lambda: served_serial(CP1) == new_api.serial_number, 60, "cp1 serves the renewed certificate")
    wait_until(lambda: host.run(f"{ETCDCTL} endpoint health --cluster").rc == 0, 60, "etcd is healthy again")
    kubectl = host.run("kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name")
    assert kubectl.rc == 0, kubectl.stderr
    assert f"node/{CP1}" in kubectl.stdout
    assert "BEGIN" not in result.stdout + result.stderr  # no key or certificate material printed


def test_renew_one_prints_only_its_line_and_unknown_names_fail(node):
    host = node(CP2)
    result = host.run("kubeadm certs renew front-proxy-client")
    assert result.rc == 0, result.stderr
    assert result.stdout == PREAMBLE.format(p="renew") + "certificate for the front proxy client renewed\n"
    missing = host.run("kubeadm certs renew all")
    assert "MISSING! certificate embedded in the kubeconfig file for the super-admin\n" in missing.stdout
    wrong = host.run("kubeadm certs renew nope")
    assert wrong.rc == 1
    assert 'unknown command "nope" for "kubeadm certs renew"' in wrong.stderr
