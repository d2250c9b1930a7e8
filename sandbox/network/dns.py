"""Cluster DNS like CoreDNS's kubernetes plugin, served by dnslib over UDP and TCP on loopback.

Answers, TTL 5 s as CoreDNS's default:
- `<svc>.<ns>.svc.cluster.local` A: the ClusterIP; for a headless Service one A record per ready endpoint
  (NXDOMAIN when none is ready, as CoreDNS); ExternalName → CNAME (never chased).
- `_<port>._<proto>.<svc>.<ns>.svc.cluster.local` SRV for named ports (and SRV on the Service name itself
  for all of them), targets resolved in the additional section.
- `<hostname or a-b-c-d>.<svc>.<ns>.svc.cluster.local` A for a headless Service's ready endpoints.
- `<a-b-c-d>.<ns>.pod.cluster.local` A ("pods insecure", the kubeadm default).
- NXDOMAIN for other names in the cluster domain, REFUSED for everything else: nothing is forwarded.

The record table is rebuilt on `update` and swapped in one assignment; dnslib's server threads only read it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SOA, SRV, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from sandbox.network.model import ServiceView, endpoint_port

log = logging.getLogger(__name__)

TTL = 5
_POD_NAME = re.compile(r"^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.pod\.")

# name (lower case, no trailing dot) → qtype → records
Table = dict[str, dict[int, list[RR]]]


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


class _Records:
    def __init__(self) -> None:
        self.table: Table = {}

    def add(self, name: str, rdata: Any, qtype: int) -> None:
        rr = RR(name + ".", qtype, rdata=rdata, ttl=TTL)
        self.table.setdefault(name, {}).setdefault(qtype, []).append(rr)

    def address(self, name: str, ip: str) -> None:
        if ":" in ip:
            self.add(name, AAAA(ip), QTYPE.AAAA)
        else:
            self.add(name, A(ip), QTYPE.A)


def build_table(services: Sequence[ServiceView], domain: str) -> Table:
    records = _Records()
    for svc in services:
        name = f"{svc.name}.{svc.namespace}.svc.{domain}".lower()
        if svc.type == "ExternalName":
            if svc.external_name:
                records.add(name, CNAME(svc.external_name.rstrip(".") + "."), QTYPE.CNAME)
            continue
        ready = svc.ready_endpoints
        if svc.headless:
            # One name per ready endpoint: its hostname if it has one, else its dashed IP.
            targets = []
            for ep in {e.ip: e for e in ready}.values():
                host = f"{ep.hostname or _dashed(ep.ip)}.{name}"
                records.address(host, ep.ip)
                records.address(name, ep.ip)
                targets.append((host, ep))
            for port in svc.ports:
                for host, ep in targets:
                    number = endpoint_port(ep, port)
                    if number is None:
                        continue
                    weight = max(1, 100 // len(targets))
                    rdata = SRV(priority=0, weight=weight, port=number, target=host + ".")
                    if port.name:
                        records.add(f"_{port.name}._{port.protocol}.{name}".lower(), rdata, QTYPE.SRV)
                    records.add(name, rdata, QTYPE.SRV)
        else:
            records.address(name, str(svc.cluster_ip))
            for port in svc.ports:
                rdata = SRV(priority=0, weight=100, port=port.port, target=name + ".")
                if port.name:
                    records.add(f"_{port.name}._{port.protocol}.{name}".lower(), rdata, QTYPE.SRV)
                records.add(name, rdata, QTYPE.SRV)
    return records.table


class ClusterResolver(BaseResolver):  # type: ignore[misc]
    """dnslib resolver over the current record table."""

    def __init__(self, domain: str = "cluster.local") -> None:
        self.domain = domain.lower().rstrip(".")
        self.table: Table = {}
        self.serial = 1
        self.queries = 0

    def _soa(self) -> RR:
        # Negative answers carry the zone's SOA so resolvers cache them for the TTL only.
        rdata = SOA(
            f"ns.dns.{self.domain}.", f"hostmaster.{self.domain}.", (self.serial, 7200, 1800, 86400, TTL)
        )
        return RR(self.domain + ".", QTYPE.SOA, rdata=rdata, ttl=TTL)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        self.queries += 1
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = request.q.qtype
        if qname != self.domain and not qname.endswith("." + self.domain):
            reply.header.rcode = RCODE.REFUSED
            reply.header.aa = 0
            return reply
        table = self.table  # one read: update() may swap it from another thread
        entry = table.get(qname)
        if entry is None and (pod := _POD_NAME.match(qname + ".")):
            octets = pod.groups()[:4]
            if all(int(o) <= 255 for o in octets):
                entry = {QTYPE.A: [RR(qname + ".", QTYPE.A, rdata=A(".".join(octets)), ttl=TTL)]}
        if qname == self.domain:
            entry = {QTYPE.SOA: [self._soa()]}
        if entry is None:
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(self._soa())
            return reply
        if QTYPE.CNAME in entry and qtype != QTYPE.CNAME:
            answers = entry[QTYPE.CNAME]
        elif qtype == QTYPE.ANY:
            answers = [rr for rrs in entry.values() for rr in rrs]
        else:
            answers = entry.get(qtype, [])
        for rr in answers:
            reply.add_answer(rr)
        if not answers:
            reply.add_auth(self._soa())  # NODATA: the name exists, the type does not
        if qtype == QTYPE.SRV:
            for rr in answers:
                target = str(rr.rdata.target).rstrip(".").lower()
                for extra in table.get(target, {}).get(QTYPE.A, []) + table.get(target, {}).get(
                    QTYPE.AAAA, []
                ):
                    reply.add_ar(extra)
        return reply


class _QuietLogger:
    """dnslib logs every packet to stdout by default; keep only errors, in our logging."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None

    def log_error(self, handler: Any, e: Any) -> None:
        log.warning("dns: error handling a request: %s", e)


class ClusterDNS:
    """The cluster's DNS server: `start()`, `update(services)` on every change, `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, domain: str = "cluster.local") -> None:
        ipaddress.ip_address(host)
        self.host = host
        self.requested_port = port
        self.resolver = ClusterResolver(domain)
        self._servers: list[DNSServer] = []
        self._lock = threading.Lock()
        self.port = 0

    @property
    def domain(self) -> str:
        return str(self.resolver.domain)

    def start(self) -> None:
        """Bind UDP and TCP on the same port (port 0: a free one, readable as `.port`) and serve."""
        attempts = 1 if self.requested_port else 20
        for attempt in range(attempts):
            udp = DNSServer(self.resolver, address=self.host, port=self.requested_port, logger=_QuietLogger())
            port = int(udp.server.server_address[1])
            try:
                tcp = DNSServer(self.resolver, address=self.host, port=port, tcp=True, logger=_QuietLogger())
            except OSError:
                udp.server.server_close()
                if attempt == attempts - 1:
                    raise
                continue  # the free UDP port is taken for TCP: try another
            break
        for server in (udp, tcp):
            # socketserver's handler threads must not keep the process alive on shutdown.
            server.server.daemon_threads = True
            # serve_forever polls for shutdown; 0.1 s keeps stop() quick at negligible cost.
            thread = threading.Thread(
                target=server.server.serve_forever,
                kwargs={"poll_interval": 0.1},
                daemon=True,
                name="cluster-dns",
            )
            thread.start()
        self._servers = [udp, tcp]
        self.port = port
        log.info("dns: serving %s on %s:%s (udp+tcp)", self.domain, self.host, port)

    def update(self, services: Sequence[ServiceView]) -> None:
        table = build_table(services, self.resolver.domain)
        with self._lock:
            self.resolver.serial += 1
            self.resolver.table = table

    def stop(self) -> None:
        for server in self._servers:
            server.server.shutdown()
            server.server.server_close()
        self._servers = []

    @property
    def address(self) -> str:
        """`host:port`, as `dns://HOST:PORT/...` authorities and env vars want it."""
        return f"{self.host}:{self.port}"


def query(name: str, qtype: str, port: int, host: str = "127.0.0.1", tcp: bool = False) -> DNSRecord:
    """Ask a DNS server one question with dnslib's client (for tools and tests)."""
    packet = DNSRecord.question(name, qtype).send(host, port, tcp=tcp, timeout=5)
    return DNSRecord.parse(packet)
