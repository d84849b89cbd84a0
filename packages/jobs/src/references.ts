/**
 * `{{ name }}` references in a step's text, and what each becomes. A value is never spliced into a command
 * line: a reference becomes a reference to the environment variable `OC_PARAM_<NAME>` that the step runs with,
 * written the way the step's shell reads a variable without re-parsing its value:
 *   - sh, bash: `${OC_PARAM_X}` inside double quotes, `"${OC_PARAM_X}"` outside them (no word splitting or
 *     globbing); inside single quotes a reference is refused, since sh would not expand it;
 *   - PowerShell: `${env:OC_PARAM_X}` (a variable's value is never parsed as code);
 *   - cmd: `!OC_PARAM_X!`, delayed expansion, which happens after cmd has parsed the line (`%X%` would be
 *     expanded before, so `&` in a value would start a command);
 *   - Python scripts read `os.environ["OC_PARAM_X"]` themselves: a reference in their body is refused.
 * Only a file copy's path takes the values themselves (a path is data, not code), and never a secret's.
 * Anything else that looks like `{{` is left as it is.
 */
import type { JobStep } from '@opsconductor/contracts/jobs';

/** A reference: `{{`, optional blanks, a parameter name, optional blanks, `}}`. Linear: no nested repetition. */
const REFERENCE = /\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]{0,63})[ \t]*\}\}/g;

export interface Reference {
  name: string;
  /** Offsets of the whole `{{ … }}` in the text. */
  start: number;
  end: number;
}

export function findReferences(text: string): Reference[] {
  return [...text.matchAll(REFERENCE)].map((m) => ({ name: m[1]!, start: m.index, end: m.index + m[0].length }));
}

/** The environment variable a parameter is passed in. Names that differ only in case are refused on save. */
export function parameterVariable(name: string): string {
  return `OC_PARAM_${name.toUpperCase()}`;
}

export type Dialect = 'sh' | 'powershell' | 'cmd' | 'python' | 'path';

/** How a step's text is read: which dialect, or none for steps without text. */
export function stepText(step: JobStep): { field: 'command' | 'body' | 'path'; text: string; dialect: Dialect } | undefined {
  switch (step.kind) {
    case 'shell':
      return { field: 'command', text: step.command, dialect: 'sh' };
    case 'powershell':
      return { field: 'command', text: step.command, dialect: 'powershell' };
    case 'cmd':
      return { field: 'command', text: step.command, dialect: 'cmd' };
    case 'script':
      return {
        field: 'body',
        text: step.body,
        dialect: step.interpreter === 'sh' || step.interpreter === 'bash' ? 'sh' : step.interpreter,
      };
    case 'file_copy':
      return { field: 'path', text: step.path, dialect: 'path' };
    case 'reboot':
    case 'wait':
      return undefined;
  }
}

/**
 * For sh: whether each offset is outside quotes, inside double quotes or inside single quotes (backslash escapes
 * outside single quotes). Enough for the references of a command line; a reference in a heredoc counts as unquoted.
 */
function shQuoteStates(text: string): Uint8Array {
  const NONE = 0,
    DOUBLE = 1,
    SINGLE = 2;
  const states = new Uint8Array(text.length);
  let state = NONE;
  for (let i = 0; i < text.length; i++) {
    states[i] = state;
    const ch = text[i];
    if (state === SINGLE) {
      if (ch === "'") state = NONE;
    } else if (ch === '\\') {
      if (i + 1 < text.length) states[++i] = state;
    } else if (ch === '"') {
      state = state === DOUBLE ? NONE : DOUBLE;
    } else if (ch === "'" && state === NONE) {
      state = SINGLE;
    }
  }
  return states;
}

export type ReferenceProblem = { reference: Reference; message: string };

/** References that cannot be written in this dialect (inside sh single quotes, in a Python body). */
export function unusableReferences(text: string, dialect: Dialect): ReferenceProblem[] {
  const refs = findReferences(text);
  if (dialect === 'python') {
    return refs.map((reference) => ({
      reference,
      message: `Python scripts read parameters from the environment: os.environ["${parameterVariable(reference.name)}"]`,
    }));
  }
  if (dialect !== 'sh') return [];
  const states = shQuoteStates(text);
  return refs
    .filter((r) => states[r.start] === 2)
    .map((reference) => ({ reference, message: 'sh does not expand anything inside single quotes: use double quotes' }));
}

/** The text with each reference replaced by what `replace` gives for it. */
function replaceReferences(text: string, replace: (ref: Reference) => string): string {
  let out = '';
  let at = 0;
  for (const ref of findReferences(text)) {
    out += text.slice(at, ref.start) + replace(ref);
    at = ref.end;
  }
  return out + text.slice(at);
}

/** The text as the device runs it: references become variable references (see the module's comment). */
export function writeReferences(text: string, dialect: Exclude<Dialect, 'path' | 'python'>): string {
  if (dialect === 'powershell') return replaceReferences(text, (r) => `\${env:${parameterVariable(r.name)}}`);
  if (dialect === 'cmd') return replaceReferences(text, (r) => `!${parameterVariable(r.name)}!`);
  const states = shQuoteStates(text);
  return replaceReferences(text, (r) =>
    states[r.start] === 1 ? `\${${parameterVariable(r.name)}}` : `"\${${parameterVariable(r.name)}}"`,
  );
}

/** A path with the parameters' values put in. */
export function substituteValues(text: string, values: ReadonlyMap<string, string>): string {
  return replaceReferences(text, (r) => values.get(r.name) ?? '');
}
