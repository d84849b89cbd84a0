/**
 * Directory membership of a Linux host, from the most to the least specific source: realmd knows the
 * join, sssd.conf and winbind show how it is run, a bare krb5.conf default realm is the weakest sign.
 */
import { readText, run } from '../io.ts';
import { clip } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';

type Directory = SectionInput<'directory'>;

interface Realm {
  name: string;
  fields: Record<string, string>;
}

/** `realm list`: a realm name at column 0, then indented `key: value` lines. */
export function parseRealmList(text: string): Realm[] {
  const realms: Realm[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      realms.push({ name: line.trim(), fields: {} });
      continue;
    }
    const match = /^\s+([\w-]+):\s*(.*)$/.exec(line);
    if (match && realms.length > 0) realms[realms.length - 1]!.fields[match[1]!] = match[2]!.trim();
  }
  return realms;
}

export function directoryFromRealms(realms: Realm[]): Directory | null {
  const joined = realms.find((r) => r.fields.configured && r.fields.configured !== 'no');
  if (!joined) return null;
  const domain = joined.fields['domain-name'] || joined.fields['realm-name'] || joined.name;
  const software = joined.fields['server-software'] ?? '';
  return {
    type: software === 'active-directory' ? 'ad' : 'realm',
    domain: clip(domain),
    workgroup: null,
    provider: 'realmd',
  };
}

/** A minimal INI reader: sections, `key = value`, `#`/`;` comments. Keys are lower-cased. */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      current = {};
      sections.set(header[1]!, current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current[kv[1]!.toLowerCase()] = kv[2]!;
  }
  return sections;
}

export function directoryFromSssd(text: string): Directory | null {
  const ini = parseIni(text);
  // Only domains listed in [sssd] domains are active; older configs without the list use every [domain/…].
  const active = (ini.get('sssd')?.domains ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const domains = [...ini.entries()].filter(([name]) => name.startsWith('domain/')).map(([name, cfg]) => ({ name: name.slice(7), cfg }));
  const chosen = domains.find((d) => active.length === 0 || active.includes(d.name));
  if (!chosen) return null;
  const idProvider = (chosen.cfg.id_provider ?? '').toLowerCase();
  if (idProvider === 'ad') {
    return { type: 'ad', domain: clip(chosen.cfg.ad_domain || chosen.name), workgroup: null, provider: 'sssd' };
  }
  if (idProvider === 'ipa' || chosen.cfg.krb5_realm || chosen.cfg.ipa_domain) {
    return {
      type: 'realm',
      domain: clip(chosen.cfg.ipa_domain || chosen.cfg.krb5_realm || chosen.name),
      workgroup: null,
      provider: 'sssd',
    };
  }
  return null;
}

export function defaultRealm(krb5conf: string): string | null {
  const libdefaults = parseIni(krb5conf).get('libdefaults');
  return clip(libdefaults?.default_realm);
}

async function winbind(ctx: CollectContext): Promise<Directory | null> {
  const res = await run('wbinfo', ['--own-domain'], { timeoutMs: 5000, signal: ctx.signal });
  const netbios = res?.code === 0 ? res.stdout.trim() : '';
  if (!netbios) return null;
  // smb.conf's realm is the DNS name of the domain; wbinfo only knows the NetBIOS one.
  const smb = parseIni((await readText('/etc/samba/smb.conf', 1024 * 1024)) ?? '').get('global') ?? {};
  const ads = (smb.security ?? '').toLowerCase() === 'ads';
  return {
    type: ads ? 'ad' : 'realm',
    domain: clip(ads && smb.realm ? smb.realm.toLowerCase() : netbios),
    workgroup: clip(smb.workgroup ?? netbios),
    provider: 'winbind',
  };
}

export async function collectDirectory(ctx: CollectContext): Promise<Directory> {
  const realm = await run('realm', ['list'], { timeoutMs: 10_000, signal: ctx.signal });
  const fromRealm = realm?.code === 0 ? directoryFromRealms(parseRealmList(realm.stdout)) : null;
  if (fromRealm) return fromRealm;

  // Readable by root only (sssd refuses to start otherwise); as a user this simply finds nothing.
  const sssd = await readText('/etc/sssd/sssd.conf', 1024 * 1024);
  const fromSssd = sssd ? directoryFromSssd(sssd) : null;
  if (fromSssd) return fromSssd;

  const fromWinbind = await winbind(ctx);
  if (fromWinbind) return fromWinbind;

  const krb5 = await readText('/etc/krb5.conf', 1024 * 1024);
  const realmName = krb5 ? defaultRealm(krb5) : null;
  if (realmName) return { type: 'realm', domain: realmName, workgroup: null, provider: 'kerberos' };

  return { type: 'none', domain: null, workgroup: null, provider: null };
}
