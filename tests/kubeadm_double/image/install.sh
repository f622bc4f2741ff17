#!/bin/sh
# Runs inside a container of the base node image, with the build context mounted at /context;
# the container is then committed as the double's image (see build). Never shipped.
set -eu
context=/context
mkdir -p /usr/lib/kubeadm-double /etc/kubeadm-double /etc/kubernetes/manifests /etc/systemd/system/kubelet.service.d
cp -r "$context/kdouble" "$context/yaml" "$context/README.md" /usr/lib/kubeadm-double/
install -m 0755 "$context/kubectl" /usr/bin/kubectl
install -m 0644 "$context/systemd/kubelet.service" /lib/systemd/system/kubelet.service
install -m 0644 "$context/systemd/10-kubeadm.conf" /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
# Each program is a two-line wrapper around `python3 -m kdouble <program>`.
for entry in /usr/bin/kubeadm:kubeadm /usr/bin/kubelet:kubelet /usr/local/bin/kube-apiserver:kube-apiserver; do
  path=${entry%%:*}
  program=${entry##*:}
  printf '#!/bin/sh\n# kubeadm test double, not Kubernetes: see /usr/lib/kubeadm-double/README.md\nPYTHONPATH=/usr/lib/kubeadm-double exec /usr/bin/python3 -m kdouble %s "$@"\n' \
    "$program" > "$path"
  chmod 0755 "$path"
done
systemctl --quiet enable kubelet.service
python3 -m compileall -q /usr/lib/kubeadm-double
