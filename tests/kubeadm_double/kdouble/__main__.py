"""`python3 -m kdouble <program> [args]`: the entry point behind /usr/bin/kubeadm, /usr/bin/kubelet
and /usr/local/bin/kube-apiserver in the node image (wrappers written by image/install.sh)."""

from __future__ import annotations

import sys

from . import apiserver, kubeadm, kubelet

PROGRAMS = {"kubeadm": kubeadm.main, "kubelet": kubelet.main, "kube-apiserver": apiserver.main}


def main() -> int:
    program, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if program not in PROGRAMS:
        sys.stderr.write("usage: python3 -m kdouble {kubeadm|kubelet|kube-apiserver} [args]\n")
        return 2
    return PROGRAMS[program](args)


if __name__ == "__main__":
    sys.exit(main())
