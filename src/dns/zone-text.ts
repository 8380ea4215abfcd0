/**
 * Renders resource records as zone-file lines (`name. 30 IN A 10.96.0.10`), the form tests
 * write expected answers in, as CoreDNS's tests do.
 */
import type { Answer as ResourceRecord } from 'dns-packet';

const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);

function rdata(rr: ResourceRecord): string {
  // biome-ignore lint/suspicious/noExplicitAny: rdata shapes vary per type
  const d = (rr as any).data;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return fqdn(String(d));
    case 'SRV':
      return `${d.priority ?? 0} ${d.weight ?? 0} ${d.port} ${fqdn(d.target)}`;
    case 'TXT': {
      const parts = Array.isArray(d) ? d : [d];
      return parts.map((p: string | Buffer) => `"${p.toString()}"`).join(' ');
    }
    case 'SOA':
      return `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    default:
      return Buffer.isBuffer(d) ? `\\# ${d.length} ${d.toString('hex')}` : JSON.stringify(d);
  }
}

/** One zone-file line per record. */
export function toZoneText(records: readonly ResourceRecord[]): string[] {
  return records.map((rr) => {
    const ttl = 'ttl' in rr ? rr.ttl : 0;
    const cls = 'class' in rr ? (rr.class ?? 'IN') : 'IN';
    return `${fqdn(rr.name)} ${ttl} ${cls} ${rr.type} ${rdata(rr)}`;
  });
}
