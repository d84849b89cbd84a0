/**
 * The WS-Management messages of the Windows Remote Shell (MS-WSMV 3.1.4): Create, Command, Send, Receive,
 * Signal, Delete, written as the MS-WSMV examples (4.7) show them, and the readers of their responses.
 */
import { randomUUID } from 'node:crypto';
import { child, children, descendants, escapeXml, parseXml, XmlError, type XmlElement } from './xml.ts';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  a: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  w: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  p: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  x: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  f: 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault',
} as const;

export const ACTION = {
  create: `${NS.x}/Create`,
  delete: `${NS.x}/Delete`,
  command: `${NS.rsp}/Command`,
  send: `${NS.rsp}/Send`,
  receive: `${NS.rsp}/Receive`,
  signal: `${NS.rsp}/Signal`,
} as const;

export const RESOURCE_URI_CMD = `${NS.rsp}/cmd`;
export const SIGNAL = { terminate: `${NS.rsp}/signal/terminate`, ctrlC: `${NS.rsp}/signal/ctrl_c` } as const;
export const COMMAND_STATE_DONE = `${NS.rsp}/CommandState/Done`;
const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
/** The WSManFault code of a Receive whose OperationTimeout passed without output: not an error, receive again. */
export const WSMAN_TIMED_OUT = '2150858793';
/** The size of the responses we accept (MaxEnvelopeSize): the server splits output to fit. */
export const MAX_ENVELOPE_SIZE = 153_600;

export interface Header {
  to: string;
  action: string;
  shellId?: string;
  options?: Array<[string, string]>;
  /** Seconds the server may hold the request (a Receive waits up to this for output). */
  operationTimeoutS: number;
  messageId?: string;
}

export function envelope(h: Header, body: string): string {
  const selector = h.shellId ? `<w:SelectorSet><w:Selector Name="ShellId">${escapeXml(h.shellId)}</w:Selector></w:SelectorSet>` : '';
  const options = h.options?.length
    ? `<w:OptionSet>${h.options.map(([n, v]) => `<w:Option Name="${escapeXml(n)}">${escapeXml(v)}</w:Option>`).join('')}</w:OptionSet>`
    : '';
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<s:Envelope xmlns:s="${NS.s}" xmlns:a="${NS.a}" xmlns:w="${NS.w}" xmlns:p="${NS.p}" xmlns:rsp="${NS.rsp}">` +
    '<s:Header>' +
    `<a:To>${escapeXml(h.to)}</a:To>` +
    `<w:ResourceURI s:mustUnderstand="true">${RESOURCE_URI_CMD}</w:ResourceURI>` +
    `<a:ReplyTo><a:Address s:mustUnderstand="true">${ANONYMOUS}</a:Address></a:ReplyTo>` +
    `<a:Action s:mustUnderstand="true">${h.action}</a:Action>` +
    `<w:MaxEnvelopeSize s:mustUnderstand="true">${MAX_ENVELOPE_SIZE}</w:MaxEnvelopeSize>` +
    `<a:MessageID>uuid:${h.messageId ?? randomUUID().toUpperCase()}</a:MessageID>` +
    '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>' +
    '<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>' +
    selector +
    options +
    `<w:OperationTimeout>PT${h.operationTimeoutS}.000S</w:OperationTimeout>` +
    '</s:Header>' +
    `<s:Body>${body}</s:Body>` +
    '</s:Envelope>'
  );
}

/** Create: a cmd shell with these environment variables (values as XML text: never parsed by a shell). */
export function createShellBody(env: Array<[string, string]>): string {
  const environment = env.length
    ? `<rsp:Environment>${env.map(([n, v]) => `<rsp:Variable Name="${escapeXml(n)}">${escapeXml(v)}</rsp:Variable>`).join('')}</rsp:Environment>`
    : '';
  return `<rsp:Shell>${environment}<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`;
}

export const CREATE_OPTIONS: Array<[string, string]> = [
  ['WINRS_NOPROFILE', 'TRUE'],
  ['WINRS_CODEPAGE', '65001'],
];

export function commandBody(command: string, args: string[]): string {
  return `<rsp:CommandLine><rsp:Command>${escapeXml(command)}</rsp:Command>${args.map((a) => `<rsp:Arguments>${escapeXml(a)}</rsp:Arguments>`).join('')}</rsp:CommandLine>`;
}

export function commandOptions(consoleModeStdin: boolean): Array<[string, string]> {
  return [
    ['WINRS_CONSOLEMODE_STDIN', consoleModeStdin ? 'TRUE' : 'FALSE'],
    ['WINRS_SKIP_CMD_SHELL', 'FALSE'],
  ];
}

export function sendBody(commandId: string, data: Buffer, end: boolean): string {
  return `<rsp:Send><rsp:Stream Name="stdin" CommandId="${escapeXml(commandId)}"${end ? ' End="true"' : ''}>${data.toString('base64')}</rsp:Stream></rsp:Send>`;
}

export function receiveBody(commandId: string): string {
  return `<rsp:Receive><rsp:DesiredStream CommandId="${escapeXml(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`;
}

export function signalBody(commandId: string, code: string): string {
  return `<rsp:Signal CommandId="${escapeXml(commandId)}"><rsp:Code>${code}</rsp:Code></rsp:Signal>`;
}

export class WsmanFault extends Error {
  override name = 'WsmanFault';
  constructor(
    message: string,
    readonly subcode: string | undefined,
    readonly wsmanCode: string | undefined,
  ) {
    super(message);
  }
  get timedOut(): boolean {
    return this.wsmanCode === WSMAN_TIMED_OUT || (this.subcode?.endsWith(':TimedOut') ?? false);
  }
}

export class WsmanProtocolError extends Error {
  override name = 'WsmanProtocolError';
}

/** The SOAP body of a response; throws WsmanFault for a fault, WsmanProtocolError for anything unreadable. */
export function readResponse(xml: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    throw new WsmanProtocolError(`unreadable response: ${err instanceof XmlError ? err.message : String(err)}`);
  }
  if (root.ns !== NS.s || root.local !== 'Envelope') throw new WsmanProtocolError('the response is not a SOAP 1.2 envelope');
  const body = child(root, NS.s, 'Body');
  if (!body) throw new WsmanProtocolError('the response has no SOAP body');
  const fault = child(body, NS.s, 'Fault');
  if (fault) {
    const code = child(fault, NS.s, 'Code');
    const subcode = child(child(code, NS.s, 'Subcode'), NS.s, 'Value')?.text.trim();
    const wsmanFault = descendants(fault, NS.f, 'WSManFault')[0];
    const message =
      (wsmanFault && child(wsmanFault, NS.f, 'Message')?.text.trim()) ||
      child(child(fault, NS.s, 'Reason'), NS.s, 'Text')?.text.trim() ||
      'a WS-Management fault';
    throw new WsmanFault(message.replace(/\s+/g, ' ').slice(0, 1000), subcode, wsmanFault?.attrs.Code);
  }
  return body;
}

export function readShellId(body: XmlElement): string {
  const selector = descendants(body, NS.w, 'Selector')
    .find((s) => s.attrs.Name === 'ShellId')
    ?.text.trim();
  const id = selector || descendants(body, NS.rsp, 'ShellId')[0]?.text.trim();
  if (!id) throw new WsmanProtocolError('the Create response names no ShellId');
  return id;
}

export function readCommandId(body: XmlElement): string {
  const id = child(child(body, NS.rsp, 'CommandResponse'), NS.rsp, 'CommandId')?.text.trim();
  if (!id) throw new WsmanProtocolError('the Command response names no CommandId');
  return id;
}

export interface Received {
  streams: Array<{ name: string; data: Buffer; end: boolean }>;
  /** Set once the command is done. */
  exitCode: number | null | undefined;
  done: boolean;
}

export function readReceive(body: XmlElement, commandId: string): Received {
  const response = child(body, NS.rsp, 'ReceiveResponse');
  if (!response) throw new WsmanProtocolError('not a Receive response');
  const streams = children(response, NS.rsp, 'Stream')
    .filter((s) => !s.attrs.CommandId || s.attrs.CommandId.toLowerCase() === commandId.toLowerCase())
    .map((s) => {
      const text = s.text.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new WsmanProtocolError('a stream that is not base64');
      return { name: s.attrs.Name ?? '', data: Buffer.from(text, 'base64'), end: s.attrs.End === 'true' };
    });
  const state = child(response, NS.rsp, 'CommandState');
  const done = state?.attrs.State === COMMAND_STATE_DONE;
  let exitCode: number | null | undefined;
  if (done) {
    const raw = child(state, NS.rsp, 'ExitCode')?.text.trim();
    // Windows exit codes are unsigned 32-bit (0xC000013A after a Ctrl+C, for one): kept as they come.
    exitCode = raw !== undefined && /^-?\d{1,10}$/.test(raw) ? Number(raw) : null;
  }
  return { streams, exitCode, done };
}
