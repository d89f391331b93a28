"""Guests' addresses: which one `novactl ssh` connects to, and what `show`/`list` print for a network
without fixed IPs (what the guest's host learned: a DHCP lease, else ARP)."""

from __future__ import annotations

import logging
import re
from collections import defaultdict

from novactl.errors import HostError
from novactl.hoststate import RUNNING, InstanceInfo
from novactl.poller import Cluster, survey_deadline
from novactl.remote.fanout import each_host

LOG = logging.getLogger(__name__)
# POSIX-portable user names (useradd's default NAME_REGEX, plus upper case).
SAFE_LOGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
Learned = dict[str, list[str]]  # network name -> IPv4 addresses


def learn(cluster: Cluster, instances: list[InstanceInfo]) -> dict[str, Learned]:
    """{instance uuid: learned addresses} of the running instances, each host asked in parallel;
    a host that fails to answer leaves its instances without (logged under --debug)."""
    by_host: dict[str, list[InstanceInfo]] = defaultdict(list)
    for instance in instances:
        state = cluster.states.get(instance.host)
        if instance.power_state == RUNNING and state is not None and state.up:
            by_host[instance.host].append(instance)
    if not by_host:
        return {}

    def ask(host: str) -> dict[str, Learned]:
        driver = cluster.drivers[host]
        return {i.uuid: found for i in by_host[host] if (found := driver.learned_addresses(i))}

    learned: dict[str, Learned] = {}
    for host, answer in each_host(ask, by_host, survey_deadline(cluster.inventory), "addresses", expected=HostError).items():
        if isinstance(answer, HostError):
            LOG.debug("no addresses learned from %s: %s", host, answer)
        else:
            learned.update(answer)
    return learned


def choose(instance: InstanceInfo, learned: Learned) -> tuple[str, str] | None:
    """(network, address): the first of the instance's networks, in its order, with an address: its
    fixed IP (from its metadata), else one learned from its host (DHCP lease, ARP); None when none."""
    for network in instance.networks:
        if network in instance.fixed_ips:
            return network, instance.fixed_ips[network]
        if learned.get(network):
            return network, learned[network][0]
    return None
