/**
 * Every `pattern` in /api/openapi.json is what OpenAPI 3.1 says it is — an ECMA-262 regex without
 * flags — and agrees with the zod schema the server validates with: the samples the schema accepts
 * match it, the ones it refuses do not. A pattern without samples here fails the test, so a new one
 * gets them. (A zod regex with the `u` flag once became a pattern ending in "/u" that matched nothing.)
 */
import { alertConditionOptions, hostName, mailAddress, signingSecret } from '@opsconductor/contracts/alerts-api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { z } from 'zod';
import { jobRunTargetsQuery, outputQuery, s3SourceSettings, shareSourceSettings } from '@opsconductor/contracts/api';
import { customFieldKey, deviceListFilters, tagName } from '@opsconductor/contracts/inventory-api';
import { inventoryReport } from '@opsconductor/contracts/inventory';
import { fileMode, fileOwner, sha256Hex } from '@opsconductor/contracts/commands';
import { parameterName } from '@opsconductor/contracts/jobs';
import { cronExpression } from '@opsconductor/contracts/jobs-api';
import { agentlessHost, agentlessUsername, sshHostKeyFingerprint } from '@opsconductor/contracts/agentless-api';
import { depotSigningKey, msiGuid, packageManagerName, signedManifest, softwareVersion } from '@opsconductor/contracts/software';
import { maintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

interface Samples {
  /** The schema the server validates this value with. */
  schema: z.ZodType;
  accepted: string[];
  refused: string[];
}

const samples: Record<string, Samples> = {
  jobParameterName: {
    schema: parameterName,
    accepted: ['service', '_x', 'Retry_2'],
    refused: ['2x', 'with-dash', 'ümlaut', '', 'a'.repeat(65)],
  },
  cronExpression: {
    schema: cronExpression,
    accepted: ['0 3 * * *', '*/15 8-18 * * 1-5', '@daily', '0 0 12 ? * MON-FRI', '0 0 L * *'],
    refused: ['0 3 * *', 'rm -rf /', '@Daily', '', '0 3 * * * ; id', '0 3 * * * *  * * *'],
  },
  tag: {
    schema: tagName,
    accepted: ['prod', 'web-01', 'Büro 2', 'сервер', '東京', 'eu/west:1', 'a_b.c'],
    refused: ['-leading-dash', '/x', 'semi;colon', 'emoji😀', '𠀀 (beyond the BMP)'],
  },
  customFieldKey: { schema: customFieldKey, accepted: ['owner', 'cost_center2'], refused: ['Owner', '2x', 'with-dash', ''] },
  customFieldFilter: {
    schema: deviceListFilters.shape.customField,
    accepted: ['owner:alice', 'cost_center:', 'env:prod:eu'],
    refused: ['Owner:alice', 'owner', ':alice'],
  },
  targetsCursor: {
    schema: jobRunTargetsQuery.shape.after,
    accepted: ['WyJub2RlLTAwMDEiLCI5YjJjIl0', 'a-b_C9'],
    refused: ['', 'with space', 'padded==', 'plus+slash/'],
  },
  outputCursor: { schema: outputQuery.shape.after, accepted: ['0', '9223372036854775807'], refused: ['-1', '12345678901234567890', 'abc'] },
  sectionHash: {
    schema: inventoryReport.shape.hashes.valueType,
    accepted: ['a'.repeat(64), '0123456789abcdef'.repeat(4)],
    refused: ['A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64)],
  },
  // Stored files and command payloads are named by SHA-256 the way inventory sections are.
  sha256: {
    schema: sha256Hex,
    accepted: ['a'.repeat(64), '0123456789abcdef'.repeat(4)],
    refused: ['A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64)],
  },
  fileMode: { schema: fileMode, accepted: ['0644', '755', '0600'], refused: ['0888', '64', '07777', 'rw-r--r--'] },
  fileOwner: {
    schema: fileOwner,
    accepted: ['root', 'www-data:www-data', '1000:1000', 'svc_app:0'],
    refused: ['', ':root', 'a:b:c', 'root;id', 'with space'],
  },
  agentlessUsername: {
    schema: agentlessUsername,
    accepted: ['root', 'CORP\\opsadmin', 'ops@corp.example', 'Jürgen Müller'],
    refused: ['', 'line\nbreak', 'tab\there', 'nul\u0000', 'user:password', 'del\u007f'],
  },
  agentlessHost: {
    schema: agentlessHost,
    accepted: ['db-01.corp.example', '10.0.0.5', '2001:db8::5', 'localhost'],
    refused: ['', 'a host', 'h;id', '$(id)', '[::1]', 'h/path'],
  },
  sshHostKey: {
    schema: sshHostKeyFingerprint,
    accepted: ['SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN+/7', 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'],
    refused: ['MD5:aa:bb', 'SHA256:short', `SHA256:${'A'.repeat(44)}`, `sha256:${'A'.repeat(43)}`],
  },
  depotSigningKeyId: {
    schema: depotSigningKey.shape.keyId,
    accepted: ['9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d', 'k_2026-12'],
    refused: ['', 'a'.repeat(65), 'with space', 'k/1'],
  },
  depotSigningPublicKey: {
    schema: depotSigningKey.shape.publicKey,
    accepted: [`${'A'.repeat(42)}Q=`, 'MCowBQYDK2VwAyEAabcdefghijklmnopqrstuvwxy+/='],
    refused: ['A'.repeat(44), `${'A'.repeat(43)}==`, `${'A'.repeat(42)}-=`],
  },
  depotManifestSignature: {
    schema: signedManifest.shape.signature,
    accepted: [`${'A'.repeat(86)}==`, `${'+/9z'.repeat(21)}Ab==`],
    refused: [`${'A'.repeat(86)}=`, `${'A'.repeat(88)}`, `${'A'.repeat(85)}-==`, ''],
  },
  msiGuid: {
    schema: msiGuid,
    accepted: ['{23170F69-40C1-2702-2409-000001000000}', '{9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d}'],
    refused: [
      '23170F69-40C1-2702-2409-000001000000',
      '{23170F69-40C1-2702-2409-00000100000}',
      '{23170F69-40C1-2702-2409-000001000000} /qn',
      '',
    ],
  },
  softwareVersion: {
    schema: softwareVersion,
    accepted: ['1.2.3', '1:2.3-4ubuntu1', '2.3-4.el9', '1.0~rc1', '1.2.3-rc.1+build', '24.09'],
    refused: ['', '.1', '1.0; rm -rf /', '1 0', '$(id)', 'a'.repeat(129)],
  },
  packageManagerName: {
    schema: packageManagerName,
    accepted: ['nginx', 'Mozilla.Firefox', 'libstdc++6', 'python3.11', '7zip_x64'],
    refused: ['', '-rf', 'tool; reboot', 'a b', '$(id)', 'a'.repeat(129)],
  },
  uncPath: {
    schema: shareSourceSettings.shape.uncPath.unwrap(),
    accepted: ['\\\\fs01\\depot', '\\\\fs01.corp.example\\software$\\depot\\', '\\\\10.0.0.5\\d'],
    refused: ['\\\\server', 'C:\\depot', '//fs01/depot', '\\\\fs01\\de\npot', ''],
  },
  mountPath: {
    schema: shareSourceSettings.shape.mountPath.unwrap(),
    accepted: ['/mnt/depot', '/', '/srv/software depot'],
    refused: ['mnt/depot', '', '/mnt/\ndepot', 'C:\\depot'],
  },
  s3Region: {
    schema: s3SourceSettings.shape.region,
    accepted: ['us-east-1', 'eu-central-1', 'garage'],
    refused: ['', 'EU-West', '-x', 'us east'],
  },
  s3Bucket: {
    schema: s3SourceSettings.shape.bucket,
    accepted: ['depot', 'my.depot-01', '123'],
    refused: ['', 'a', 'Depot', 'depot-', '-depot', 'de_pot'],
  },
  s3Prefix: {
    schema: s3SourceSettings.shape.prefix,
    accepted: ['', 'depot/', 'opsc/software/', "it's(1)/"],
    refused: ['depot', '/depot/', 'a//', 'dé/', 'a b/'],
  },
  maintenanceWindowStart: {
    schema: maintenanceWindowSpec.shape.startTime,
    accepted: ['00:00', '02:30', '23:59', '19:05'],
    refused: ['24:00', '2:30', '02:60', '02:30:00', '', 'T02:30'],
  },
  signingSecret: {
    schema: signingSecret,
    accepted: [`whsec_${'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}`, 'whsec_' + Buffer.alloc(64, 7).toString('base64')],
    refused: ['whsec_short', 'sk_live_abcdefghijklmnopqrstuvwxyz012345', `whsec_${'!'.repeat(40)}`, ''],
  },
  mailAddress: {
    schema: mailAddress,
    accepted: ['ops@example.com', 'a.b+c@mail.example.org', 'oncall@localhost'],
    refused: ['not an address', 'a@b@c', '<a@b.c>', 'a@b.c\n', '@example.com', 'a b@example.com'],
  },
  smtpHost: {
    schema: hostName,
    accepted: ['mail.example.com', '10.0.0.5', '[2001:db8::1]', 'smtp-relay'],
    refused: ['mail example', 'a;b', '', 'mail/x', 'ü.example'],
  },
  agentVersion: {
    schema: alertConditionOptions[4].shape.minimumVersion,
    accepted: ['1', '1.4.0', '10.2.3.4'],
    refused: ['1.0; rm -rf /', 'v1.2', '1.2.3.4.5', ''],
  },
  s3Credential: {
    schema: s3SourceSettings.shape.accessKeyId,
    accepted: ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'minio~admin'],
    refused: ['', 'with space', 'tab\there', 'ünï'],
  },
};

/** Which sample set a pattern is: the samples whose accepted values it matches. */
function classify(pattern: RegExp): string | undefined {
  return Object.entries(samples).find(([, s]) => s.accepted.every((v) => pattern.test(v)) && s.refused.every((v) => !pattern.test(v)))?.[0];
}

function patternsIn(node: unknown, path: string, out: { path: string; pattern: string }[]) {
  if (Array.isArray(node)) node.forEach((n, i) => patternsIn(n, `${path}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') out.push({ path, pattern: value });
      else patternsIn(value, `${path}/${key}`, out);
    }
  }
  return out;
}

it('every pattern compiles without flags and matches exactly what the server accepts', async () => {
  const doc: unknown = await (await t.request('/api/openapi.json')).json();
  const found = patternsIn(doc, '#', []);
  expect(found.length).toBeGreaterThan(0);
  const covered = new Set<string>();
  for (const { path, pattern } of found) {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern); // OpenAPI 3.1 / JSON Schema: ECMA-262, no flags
    } catch (err) {
      throw new Error(`${path}: pattern does not compile: ${(err as Error).message}`);
    }
    const kind = classify(regex);
    expect(kind, `${path}: no sample set matches pattern ${pattern.slice(0, 120)}… (add samples for it)`).toBeDefined();
    covered.add(kind!);
  }
  for (const [kind, s] of Object.entries(samples)) {
    for (const v of s.accepted) expect(s.schema.safeParse(v).success, `${kind}: the server accepts ${JSON.stringify(v)}`).toBe(true);
    for (const v of s.refused) expect(s.schema.safeParse(v).success, `${kind}: the server refuses ${JSON.stringify(v)}`).toBe(false);
  }
  // The tag pattern is in the document (bulk tag changes), not silently dropped.
  expect(covered).toContain('tag');
});
