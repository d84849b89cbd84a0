/**
 * A job definition as a file, JSON or YAML (jobs as code, ADR 22). YAML is written for people and git diffs (the schema comment
 * editors validate with, a readable key order, scripts as block literals), and read back with nothing YAML can do
 * beyond JSON: one document of the YAML 1.2 core schema, no tags or directives, no duplicate keys, bounded
 * aliases, size and nesting. What it reads is a plain JSON value, checked afterwards by the very schema a JSON
 * body is, so both formats of an unchanged job have the same digest.
 */
import { Composer, CST, Document, Lexer, LineCounter, Parser, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import type { JobDefinition } from '@opsconductor/contracts/jobs';
import { JOB_DEFINITION_SCHEMA_ID } from './definition.ts';

export type JobFileFormat = 'json' | 'yaml';

/** The file name an export is saved as: the job's name with anything but letters, digits, `.`, `_` and `-` made `-`. */
export function jobDefinitionFileName(name: string, format: JobFileFormat): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'job'}.job.${format}`;
}

/** The media types a YAML definition may come as; `application/yaml` (RFC 9512) is the one answered with. */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'] as const;

export const isYamlMediaType = (contentType: string | undefined): boolean =>
  (YAML_MEDIA_TYPES as readonly string[]).includes(contentType?.split(';')[0]?.trim().toLowerCase() ?? '');

export interface YamlLimits {
  /** Lexical tokens (a scalar, an indicator, a run of spaces…): what the parser's memory grows with. */
  maxTokens: number;
  /** Collections inside collections; a job definition needs five. */
  maxDepth: number;
  /** Nodes plus string lengths of the value once aliases are expanded: an alias bomb stops here. */
  maxExpandedSize: number;
}

/**
 * Generous for any definition the schema takes (50 parameters of 100 values and 50 steps are some 30,000 tokens,
 * nested five deep) and small enough that no body within the 1 MiB limit costs more than some tens of MB to read.
 */
export const DEFAULT_YAML_LIMITS: YamlLimits = { maxTokens: 100_000, maxDepth: 32, maxExpandedSize: 2 * 1024 * 1024 };

export type YamlReading =
  | { ok: true; value: unknown }
  /** `line` and `column` (from 1) say where the problem is, when it is at one place. */
  | { ok: false; message: string; line?: number; column?: number };

const parseOptions: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  schema: 'core',
  merge: false, // `<<` is a YAML 1.1 idea: here it is an ordinary (unknown) key
  uniqueKeys: true,
  strict: true,
  prettyErrors: false, // positions are added below, from the line counter
};

/** Characters YAML does not allow in a stream (c-printable), NUL first among them; tab, LF and CR are allowed. */
const NON_PRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Reads one YAML document into a JSON value, or says why not (and where). Never throws on any input, and its time
 * and memory grow with the text's length only within the limits.
 */
export function readYamlDocument(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): YamlReading {
  const lines = new LineCounter();
  lines.addNewLine(0); // the first line (Parser.parse() would do this; tokens are fed one by one here)
  const refuse = (message: string, offset?: number): YamlReading => {
    if (offset === undefined) return { ok: false, message };
    const { line, col } = lines.linePos(offset);
    return { ok: false, message, line, column: col };
  };

  const control = NON_PRINTABLE.exec(text) ?? LONE_SURROGATE.exec(text);
  if (control) {
    // Count the lines up to it (the parser has not run yet).
    for (let at = text.indexOf('\n'); at !== -1 && at < control.index; at = text.indexOf('\n', at + 1)) lines.addNewLine(at + 1);
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return refuse(`U+${code} is not allowed in YAML (NUL, control characters and unpaired surrogates are refused)`, control.index);
  }

  // Lex and parse token by token so that a body of a million `[` stops at the limit, not at a gigabyte.
  const lexer = new Lexer();
  const parser = new Parser(lines.addNewLine);
  const tokens: CST.Token[] = [];
  let count = 0;
  for (const lexeme of lexer.lex(text)) {
    if (++count > limits.maxTokens) return refuse(`The YAML has more than ${limits.maxTokens} tokens; a job definition has far fewer`);
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);

  const documents = tokens.filter((t) => t.type === 'document');
  if (documents.length > 1) return refuse('A YAML stream of several documents: send one job definition per request', documents[1]!.offset);
  for (const t of tokens) {
    if (t.type === 'directive' && !/^%YAML\s+1\.2\s*$/.test(t.source))
      return refuse(`The directive ${t.source.slice(0, 40)} is not allowed`, t.offset);
  }
  const structural = checkStructure(tokens, limits.maxDepth);
  if (structural) return refuse(structural.message, structural.offset);

  const composer = new Composer(parseOptions);
  const docs = [...composer.compose(tokens, true, text.length)];
  const doc = docs[0];
  if (!doc) return refuse('The YAML is empty');
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) return refuse(problem.message, problem.pos[0]);

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases: one that is not defined, or too many of them (the library's alias-bomb guard).
    return refuse(error instanceof Error ? error.message : String(error));
  }
  if (!withinExpandedSize(value, limits.maxExpandedSize))
    return refuse(`With its aliases expanded, the YAML is larger than ${limits.maxExpandedSize} characters`);
  return { ok: true, value };
}

/** The first tag or too deep a collection in the parsed tokens (walked without recursion: depth is what is checked). */
function checkStructure(tokens: CST.Token[], maxDepth: number): { message: string; offset: number } | undefined {
  const stack: { node: unknown; depth: number }[] = tokens.map((node) => ({ node, depth: 0 }));
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (Array.isArray(node)) {
      for (const item of node) stack.push({ node: item, depth });
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    const token = node as { type?: string; offset?: number; source?: string };
    if (token.type === 'tag')
      return { message: `The tag ${token.source?.slice(0, 40)} is not allowed (plain YAML only)`, offset: token.offset ?? 0 };
    const inner = token.type !== undefined && COLLECTIONS.has(token.type) ? depth + 1 : depth;
    if (inner > maxDepth) return { message: `The YAML is nested more than ${maxDepth} levels deep`, offset: token.offset ?? 0 };
    for (const [key, child] of Object.entries(node))
      if (key !== 'source' && child !== null && typeof child === 'object') stack.push({ node: child, depth: inner });
  }
  return undefined;
}

/**
 * Whether the value, counted as a tree (an alias counts each time it is used), stays within `budget` nodes plus
 * string characters. Stops as soon as it is over, so even an exponential alias graph costs at most `budget` steps.
 */
function withinExpandedSize(value: unknown, budget: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    size += 1 + (typeof v === 'string' ? v.length : 0);
    if (size > budget) return false;
    if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        size += key.length;
        stack.push(item);
      }
    }
  }
  return true;
}

/** Keys first in every step and parameter, so that a file reads as "what it is, then how it behaves". */
const LEADING_KEYS = ['name', 'kind', 'type'];

function readableOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readableOrder);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  const rank = (key: string) => (LEADING_KEYS.includes(key) ? LEADING_KEYS.indexOf(key) : LEADING_KEYS.length);
  entries.sort(([a], [b]) => rank(a) - rank(b)); // stable: the rest keeps the definition's order
  return Object.fromEntries(entries.map(([k, v]) => [k, readableOrder(v)]));
}

/** The top-level keys in the order of the format (a stored definition comes back from jsonb in another order). */
const TOP_LEVEL_ORDER: (keyof JobDefinition)[] = ['schemaVersion', 'name', 'description', 'parameters', 'steps', 'chains', 'approval'];

/**
 * The definition as a YAML file: a `yaml-language-server` comment pointing editors at the published JSON Schema,
 * multi-line text (scripts) as literal blocks, no line folding (a long command stays one line in a diff).
 */
export function renderJobDefinitionYaml(definition: JobDefinition): string {
  const top = Object.fromEntries(
    [...TOP_LEVEL_ORDER, ...Object.keys(definition)]
      .filter((key, i, all) => all.indexOf(key) === i && (definition as Record<string, unknown>)[key] !== undefined)
      .map((key) => [key, readableOrder((definition as Record<string, unknown>)[key])]),
  );
  // Quoted where a YAML 1.1 reader (PyYAML, older tools in a pipeline) would read something else: `yes`, `on`, `0777`.
  const doc = new Document(top, { version: '1.2', compat: 'yaml-1.1' });
  doc.commentBefore = ` yaml-language-server: $schema=${JOB_DEFINITION_SCHEMA_ID}`;
  return doc.toString({ blockQuote: 'literal', lineWidth: 0, indentSeq: true });
}
