import { RECORD_TTL } from "./unbound-config.js";

/**
 * Unbound's Python module for the names under the cluster zone that are not Service records:
 * `a-b-c-d.<ns>.pod.<zone>` resolves to a.b.c.d for any namespace (spec 2.6, what CoreDNS's
 * `pods insecure` does, kubeadm's default), and every other name under the zone is NXDOMAIN at
 * once, so search-path lookups (`example.org.cluster.local`) never go upstream. Unbound consults
 * its local zones first, so `svc.<zone>` and `dns-version.<zone>` never reach this module; names
 * outside the zone pass on to the iterator. Answers are not cached: they cost nothing to make.
 */
export function renderPodRecordsModule(domain: string): string {
  return `# Written by sprout-agent from the node manifest; local edits are replaced.
# Runs inside unbound (module-config "python iterator"), see agent/cluster-dns/pod-records-module.ts.
import re

DOMAIN = ${JSON.stringify(`${domain}.`)}
TTL = ${RECORD_TTL}
POD = re.compile(r"^(\\d{1,3})-(\\d{1,3})-(\\d{1,3})-(\\d{1,3})\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.pod\\." + re.escape(DOMAIN) + "$")
SOA = "%s %d IN SOA ns.dns.%s hostmaster.%s 1 7200 1800 86400 %d" % (DOMAIN, TTL, DOMAIN, DOMAIN, TTL)


def init_standard(id, env):
    return True


def deinit(id):
    return True


def inform_super(id, qstate, superqstate, qdata):
    return True


def answer(id, qstate, rcode, records):
    msg = DNSMessage(qstate.qinfo.qname_str, qstate.qinfo.qtype, RR_CLASS_IN, PKT_QR | PKT_RA | PKT_AA)
    for r in records:
        msg.answer.append(r)
    if not records:
        msg.authority.append(SOA)
    if not msg.set_return_msg(qstate):
        qstate.ext_state[id] = MODULE_ERROR
        return True
    qstate.return_rcode = rcode
    qstate.no_cache_store = 1
    qstate.ext_state[id] = MODULE_FINISHED
    return True


def operate(id, event, qstate, qdata):
    if event in (MODULE_EVENT_NEW, MODULE_EVENT_PASS):
        name = qstate.qinfo.qname_str.lower()
        if name != DOMAIN and not name.endswith("." + DOMAIN):
            qstate.ext_state[id] = MODULE_WAIT_MODULE
            return True
        m = POD.match(name)
        if m and all(int(x) < 256 for x in m.groups()[:4]):
            address = ".".join(str(int(x)) for x in m.groups()[:4])
            records = ["%s %d IN A %s" % (qstate.qinfo.qname_str, TTL, address)] if qstate.qinfo.qtype in (RR_TYPE_A, RR_TYPE_ANY) else []
            return answer(id, qstate, RCODE_NOERROR, records)
        if name == DOMAIN or name == "pod." + DOMAIN or name.endswith(".pod." + DOMAIN) and name.count(".") == DOMAIN.count(".") + 2:
            return answer(id, qstate, RCODE_NOERROR, [])
        return answer(id, qstate, RCODE_NXDOMAIN, [])
    if event == MODULE_EVENT_MODDONE:
        qstate.ext_state[id] = MODULE_FINISHED
        return True
    qstate.ext_state[id] = MODULE_ERROR
    return True
`;
}
