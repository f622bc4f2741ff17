"""kubeadm test double: a stand-in for kubeadm, the kubelet and kube-apiserver in tests.

It is NOT Kubernetes. It reproduces the observable contract of kubeadm (flags, output lines,
error texts, files and modes) closely enough to exercise the kubeha.kubeadm collection in
containers where the real binaries cannot be installed. See ../README.md.
"""
