/** The WinRM building blocks on their own: MD4, NTLMv2 against MS-NLMP's examples, the XML reader, the SOAP readers. */
import { createHash } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md4 } from '../src/winrm/md4.ts';
import {
  AV,
  authenticateMessage,
  buildAvPairs,
  certHashAlgorithm,
  lmv2Response,
  negotiateMessage,
  ntlmv2Temp,
  ntowfv2,
  ntProofStr,
  parseAuthenticate,
  sessionBaseKey,
  splitUsername,
  tlsChannelBindings,
} from '../src/winrm/ntlm.ts';
import { readReceive, readResponse, readShellId, WsmanFault, WsmanProtocolError } from '../src/winrm/soap.ts';
import { escapeXml, isXmlSafe, parseXml, XmlError } from '../src/winrm/xml.ts';
import { commandLine, copyProgram, encodePowerShell, MAX_COMMAND_LINE, stepProgram } from '../src/winrm/shell.ts';
import { powerShellQuote } from '../src/variables.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TLS } from './support/wsman-server.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('md4 (RFC 1320, appendix A.5)', () => {
  it.each([
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ])('md4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'latin1')).toString('hex')).toBe(digest);
  });

  it('is the NT hash of a password (MS-NLMP 4.2.2.1.2: "Password")', () => {
    expect(md4(Buffer.from('Password', 'utf16le')).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
  });
});

describe('NTLMv2 (MS-NLMP 4.2.4)', () => {
  const serverChallenge = hex('0123456789abcdef');
  const clientChallenge = Buffer.alloc(8, 0xaa);
  const avPairs = buildAvPairs([
    { id: AV.NB_DOMAIN_NAME, value: Buffer.from('Domain', 'utf16le') },
    { id: AV.NB_COMPUTER_NAME, value: Buffer.from('Server', 'utf16le') },
  ]);
  const key = ntowfv2('Password', 'User', 'Domain');
  const temp = ntlmv2Temp(Buffer.alloc(8), clientChallenge, avPairs);

  it('NTOWFv2, temp, NTProofStr, session base key and LMv2 match the specification', () => {
    expect(key).toEqual(hex('0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f'));
    expect(temp).toEqual(
      hex(`01 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 aa aa aa aa aa aa aa aa 00 00 00 00
           02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00
           00 00 00 00 00 00 00 00`),
    );
    const proof = ntProofStr(key, serverChallenge, temp);
    expect(proof).toEqual(hex('68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c'));
    expect(sessionBaseKey(key, proof)).toEqual(hex('8d e4 0c ca db c1 4a 82 f1 5c b0 ad 0d e9 5c a3'));
    expect(lmv2Response(key, serverChallenge, clientChallenge)).toEqual(
      hex('86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa'),
    );
  });

  it('builds an AUTHENTICATE message that answers the specification challenge', () => {
    const challenge = hex(`4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00 38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
      00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00 06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
      65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00`);
    const msg = authenticateMessage({
      negotiate: negotiateMessage(),
      challenge,
      username: 'Domain\\User',
      password: 'Password',
      clientChallenge,
      timestamp: Buffer.alloc(8),
    });
    const parsed = parseAuthenticate(msg);
    expect(parsed).toMatchObject({ domain: 'Domain', user: 'User', workstation: '' });
    // No server timestamp in this challenge: an LMv2 response, no MIC.
    expect(parsed.lmResponse).toEqual(lmv2Response(key, serverChallenge, clientChallenge));
    expect(parsed.mic).toEqual(Buffer.alloc(16));
    const ntTemp = parsed.ntResponse.subarray(16);
    expect(parsed.ntResponse.subarray(0, 16)).toEqual(ntProofStr(key, serverChallenge, ntTemp));
  });

  it('splits user names', () => {
    expect(splitUsername('CORP\\alice')).toEqual({ user: 'alice', domain: 'CORP' });
    expect(splitUsername('alice@corp.example')).toEqual({ user: 'alice@corp.example', domain: '' });
    expect(splitUsername('alice')).toEqual({ user: 'alice', domain: '' });
  });

  it('binds to the TLS certificate as RFC 5929 tls-server-end-point says', () => {
    const der = new X509Certificate(TLS.cert).raw;
    expect(certHashAlgorithm(der)).toBe('sha256'); // ecdsa-with-SHA256
    const appData = Buffer.concat([Buffer.from('tls-server-end-point:'), createHash('sha256').update(der).digest()]);
    const struct = Buffer.concat([Buffer.alloc(16), Buffer.from([appData.length, 0, 0, 0]), appData]);
    expect(tlsChannelBindings(der)).toEqual(createHash('md5').update(struct).digest());
  });
});

describe('the XML reader', () => {
  it('resolves namespaces, decodes the predefined entities and character references, reads CDATA', () => {
    const el = parseXml(
      '<?xml version="1.0"?><!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d" x="1 &amp; 2"><b a:y="&#x41;">t&lt;&#66;<![CDATA[<raw>]]></b></a:r>',
    );
    expect(el).toMatchObject({ ns: 'urn:a', local: 'r', attrs: { x: '1 & 2' } });
    expect(el.children[0]).toMatchObject({ ns: 'urn:d', local: 'b', attrs: { y: 'A' }, text: 't<B<raw>' });
  });

  it('refuses a DTD, unknown entities and malformed documents', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><r>&lol2;</r>';
    expect(() => parseXml(bomb)).toThrow(/DOCTYPE/);
    expect(() => parseXml('<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>')).toThrow(XmlError);
    expect(() => parseXml('<r>&xxe;</r>')).toThrow(/unknown entity/);
    expect(() => parseXml('<r>a & b</r>')).toThrow(/bare &/);
    expect(() => parseXml('<r><s></r>')).toThrow(XmlError);
    expect(() => parseXml('<p:r/>')).toThrow(/undeclared/);
    expect(() => parseXml('<r/><r/>')).toThrow(/more than one root/);
    expect(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100))).toThrow(/deeply/);
  });

  it('escapes text and attributes, keeping CR', () => {
    const value = `<&>"'\r\n`;
    expect(parseXml(`<r a="${escapeXml(value)}">${escapeXml(value)}</r>`)).toMatchObject({ attrs: { a: value }, text: value });
    expect(isXmlSafe('tab\tnewline\n')).toBe(true);
    expect(isXmlSafe('bell\u0007')).toBe(false);
    expect(isXmlSafe('lone \ud800 surrogate')).toBe(false);
  });
});

describe('SOAP responses', () => {
  const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'wsman', name), 'utf8');
  const fill = (t: string, v: Record<string, string>) => t.replace(/\{\{(\w+)\}\}/g, (_, n: string) => v[n] ?? '');

  it('reads the ShellId of a Create response, streams and the exit code of a Receive', () => {
    expect(readShellId(readResponse(fill(fixture('create-response.xml'), { ShellId: 'ABC-1' })))).toBe('ABC-1');
    const receive = fill(fixture('receive-response.xml'), {
      CommandId: 'C1',
      Streams: `<rsp:Stream Name="stdout" CommandId="C1">${Buffer.from('hello').toString('base64')}</rsp:Stream><rsp:Stream Name="stderr" CommandId="OTHER">eA==</rsp:Stream><rsp:Stream Name="stdout" CommandId="C1" End="true"></rsp:Stream>`,
      State: 'Done',
      ExitCode: '<rsp:ExitCode>3221225786</rsp:ExitCode>',
    });
    const r = readReceive(readResponse(receive), 'c1');
    expect(r.done).toBe(true);
    expect(r.exitCode).toBe(3221225786);
    expect(r.streams.map((s) => [s.name, s.data.toString(), s.end])).toEqual([
      ['stdout', 'hello', false],
      ['stdout', '', true],
    ]);
  });

  it('turns faults into WsmanFault (TimedOut recognised) and junk into protocol errors', () => {
    let fault: unknown;
    try {
      readResponse(fill(fixture('fault-timed-out.xml'), {}));
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(WsmanFault);
    expect((fault as WsmanFault).timedOut).toBe(true);
    expect((fault as WsmanFault).message).toMatch(/OperationTimeout/);
    expect(() => readResponse(fill(fixture('fault-shell-not-found.xml'), { ShellId: 'X' }))).toThrow(/shell was not found/);
    expect(() => readResponse('<html>nope</html>')).toThrow(WsmanProtocolError);
    expect(() => readResponse('not xml')).toThrow(WsmanProtocolError);
  });
});

describe('command lines', () => {
  it('encodes PowerShell as UTF-16LE base64, and cmd through a launcher with the command as a literal', () => {
    const ps = commandLine(stepProgram('powershell', 'Write-Output "hi"'));
    expect(ps.command).toBe('powershell.exe');
    expect(ps.args.slice(0, 5)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    expect(Buffer.from(ps.args[5]!, 'base64').toString('utf16le')).toBe('$ProgressPreference = \'SilentlyContinue\'\r\nWrite-Output "hi"');
    const cmd = stepProgram('cmd', `echo "it's" & echo !V! %X%`);
    expect(cmd).toContain(`$psi.Arguments = '/d /v:on /s /c "echo "it''s" & echo !V! %X%"'`);
  });

  it('moves a program too long for cmd.exe onto stdin, behind a bootstrap', () => {
    const long = 'Write-Output ' + powerShellQuote('x'.repeat(5000));
    const line = commandLine(long);
    expect(line.stdin).toBeDefined();
    expect(`${line.command} ${line.args.join(' ')}`.length).toBeLessThan(MAX_COMMAND_LINE);
    expect(Buffer.from(line.stdin!.toString('ascii').replace(/\r\n/g, ''), 'base64').toString('utf8')).toBe(long);
    expect(encodePowerShell('a')).toBe('YQA=');
  });

  it('quotes the copy destination as a PowerShell literal', () => {
    expect(copyProgram("C:\\it's $here\\f.txt", 5, 'abc')).toContain("$path = 'C:\\it''s $here\\f.txt'");
  });
});
