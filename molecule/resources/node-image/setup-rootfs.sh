#!/bin/sh
# Runs inside the freshly bootstrapped root file system (chroot), before `docker import`.
# Arguments: the Debian packages to install.
set -eu
export DEBIAN_FRONTEND=noninteractive

# No service may start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@"
rm -f /usr/sbin/policy-rc.d

# systemd generates a fresh machine id on first boot of each container.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# etcd is started by the kubelet from a static pod manifest, never by its Debian unit.
systemctl mask etcd.service

# Units that have nothing to do in a container and would only fail or wait. Among them
# systemd-modules-load: the kernel is the host's and a container cannot load modules into it;
# when the unit fails to, systemd (257 on trixie too) reports the whole node `degraded`. The
# roles check the modules' functions instead; create.yml accepts only `running`.
systemctl mask getty@tty1.service console-getty.service systemd-remount-fs.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  systemd-firstboot.service

# Keep the image small: no package lists or caches (apt-get update works inside the node).
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/*
