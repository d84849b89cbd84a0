/**
 * A small XML reader for WS-Management responses, safe by construction: no DTD (a DOCTYPE is refused, so
 * no entity can be declared, expanded or fetched), only the five predefined entities and character
 * references, bounded depth and element count, namespaces resolved. Enough for SOAP envelopes; not a
 * general XML parser (no validation, no external anything).
 */

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  /** Attributes by local name (namespace declarations left out). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data, concatenated (CDATA included). */
  text: string;
}

export class XmlError extends Error {
  override name = 'XmlError';
}

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 100_000;
const NAME = /^[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?$/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]{0,10});?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new XmlError(`a bare & at offset ${at}`);
    if (name in PREDEFINED) return PREDEFINED[name]!;
    const m = /^#(x[0-9A-Fa-f]{1,6}|[0-9]{1,7})$/.exec(name);
    if (!m) throw new XmlError(`unknown entity &${name}; (no DTD is read)`);
    const code = m[1]!.startsWith('x') ? parseInt(m[1]!.slice(1), 16) : parseInt(m[1]!, 10);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new XmlError(`invalid character reference &${name};`);
    return String.fromCodePoint(code);
  });
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  let count = 0;
  const stack: Array<{ el: XmlElement; qname: string; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;
  const rootScope = new Map<string, string>([['xml', 'http://www.w3.org/XML/1998/namespace']]);

  const resolve = (qname: string, scope: Map<string, string>, isAttr: boolean) => {
    const colon = qname.indexOf(':');
    const prefix = colon < 0 ? '' : qname.slice(0, colon);
    const local = colon < 0 ? qname : qname.slice(colon + 1);
    if (prefix === '' && isAttr) return { ns: '', local };
    const ns = scope.get(prefix);
    if (ns === undefined) {
      if (prefix === '') return { ns: '', local };
      throw new XmlError(`undeclared namespace prefix "${prefix}"`);
    }
    return { ns, local };
  };

  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.el.text += decode(text, i);
      else if (text.trim() !== '') throw new XmlError('text outside the root element');
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) throw new XmlError('an unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) throw new XmlError('an unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) throw new XmlError('an unterminated CDATA section');
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError('CDATA outside the root element');
      top.el.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      throw new XmlError('a DOCTYPE or other declaration: refused (no DTD is read)');
    } else if (xml.startsWith('</', i)) {
      const end = xml.indexOf('>', i);
      if (end < 0) throw new XmlError('an unterminated end tag');
      const qname = xml.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.qname !== qname) throw new XmlError(`end tag </${qname}> does not match`);
      i = end + 1;
    } else {
      // A start tag: name, attributes (quoted values may hold '>'), then '>' or '/>'.
      let j = i + 1;
      const nameMatch = /^[^\s/>]+/.exec(xml.slice(j, j + 256));
      if (!nameMatch || !NAME.test(nameMatch[0])) throw new XmlError(`a malformed start tag at offset ${i}`);
      const qname = nameMatch[0];
      j += qname.length;
      const rawAttrs: Array<[string, string]> = [];
      let selfClosing = false;
      for (;;) {
        while (j < xml.length && /\s/.test(xml[j]!)) j++;
        if (j >= xml.length) throw new XmlError('an unterminated start tag');
        if (xml[j] === '>') {
          j++;
          break;
        }
        if (xml.startsWith('/>', j)) {
          selfClosing = true;
          j += 2;
          break;
        }
        const attr = /^([^\s=/>]+)\s*=\s*(["'])/.exec(xml.slice(j, j + 300));
        if (!attr || !NAME.test(attr[1]!)) throw new XmlError(`a malformed attribute at offset ${j}`);
        const quote = attr[2]!;
        const valueStart = j + attr[0].length;
        const valueEnd = xml.indexOf(quote, valueStart);
        if (valueEnd < 0) throw new XmlError('an unterminated attribute value');
        const rawValue = xml.slice(valueStart, valueEnd);
        if (rawValue.includes('<')) throw new XmlError('a < in an attribute value');
        rawAttrs.push([attr[1]!, decode(rawValue, valueStart)]);
        j = valueEnd + 1;
      }
      const parentScope = stack[stack.length - 1]?.scope ?? rootScope;
      let scope = parentScope;
      for (const [name, value] of rawAttrs) {
        if (name === 'xmlns' || name.startsWith('xmlns:')) {
          if (scope === parentScope) scope = new Map(parentScope);
          scope.set(name === 'xmlns' ? '' : name.slice(6), value);
        }
      }
      const { ns, local } = resolve(qname, scope, false);
      const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [name, value] of rawAttrs) {
        if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
        attrs[resolve(name, scope, true).local] = value;
      }
      const el: XmlElement = { ns, local, attrs, children: [], text: '' };
      if (++count > MAX_ELEMENTS) throw new XmlError('too many elements');
      const parent = stack[stack.length - 1];
      if (parent) parent.el.children.push(el);
      else if (root) throw new XmlError('more than one root element');
      else root = el;
      if (!selfClosing) {
        stack.push({ el, qname, scope });
        if (stack.length > MAX_DEPTH) throw new XmlError('elements nested too deeply');
      }
      i = j;
    }
  }
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]!.qname}> is not closed`);
  if (!root) throw new XmlError('no root element');
  return root;
}

/** The first child (or descendant along a path of children) with this namespace and local name. */
export function child(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.local === local);
}

export function children(el: XmlElement | undefined, ns: string, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.local === local) : [];
}

/** Every descendant (depth first) with this namespace and local name. */
export function descendants(el: XmlElement, ns: string, local: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of el.children) {
    if (c.ns === ns && c.local === local) out.push(c);
    descendants(c, ns, local, out);
  }
  return out;
}

/** Escapes text for an element's content or a double-quoted attribute; CR kept as a reference (parsers fold it). */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;' })[c]!);
}

/** Characters XML 1.0 cannot carry at all (not even as a reference): most C0 controls, lone surrogates, U+FFFE/F. */
const NOT_XML =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isXmlSafe(value: string): boolean {
  return !NOT_XML.test(value);
}
