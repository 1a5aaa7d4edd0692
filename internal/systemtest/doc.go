// Package systemtest runs the daemons the way operators do: from their
// Debian packages, under a real systemd booted in containers
// (systemd-nspawn over a Debian 12 root made with debootstrap), rolled out
// with the Ansible playbook in deploy/ansible against three such
// containers.
//
// Its tests run only with ZKFDB_SYSTEM_TEST=1 (scripts/test sets it as
// root, after installing debootstrap, systemd-container, lintian, ansible
// and ansible-lint), and then they need a FoundationDB cluster
// ($FDB_CLUSTER_FILE) on a loopback address: the containers share the
// host's network, each on a loopback address of its own. A missing
// prerequisite fails them; it never skips them.
package systemtest
