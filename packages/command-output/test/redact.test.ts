import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor, redactOutput } from '../src/index.ts';

/**
 * What the output must be, computed on the whole output at once with Buffer.indexOf: every occurrence of
 * every secret is covered, and occurrences that overlap become one `[redacted]`.
 */
function expected(output: Buffer, secrets: string[]): Buffer {
  const occurrences: [number, number][] = [];
  for (const secret of secrets.filter((s) => s.length > 0)) {
    const bytes = Buffer.from(secret, 'utf8');
    for (let at = output.indexOf(bytes); at >= 0; at = output.indexOf(bytes, at + 1)) occurrences.push([at, at + bytes.length]);
  }
  occurrences.sort((a, b) => a[0] - b[0]);
  const out: Buffer[] = [];
  let pos = 0;
  let coveredTo = 0;
  for (const [start, end] of occurrences) {
    if (start >= coveredTo) {
      out.push(output.subarray(pos, start), Buffer.from(REDACTED));
    }
    coveredTo = Math.max(coveredTo, end);
    pos = coveredTo;
  }
  out.push(output.subarray(pos));
  return Buffer.concat(out);
}

/** The output written in pieces cut at `cuts` (byte offsets), then ended. */
function streamed(output: Buffer, secrets: string[], cuts: number[]): { result: Buffer; passedOn: number[] } {
  const redactor = new SecretRedactor(secrets);
  const pieces: Buffer[] = [];
  const passedOn: number[] = [];
  let from = 0;
  for (const cut of [...cuts, output.length]) {
    const piece = redactor.write(output.subarray(from, cut));
    pieces.push(piece);
    passedOn.push(piece.length);
    from = cut;
  }
  pieces.push(redactor.end());
  return { result: Buffer.concat(pieces), passedOn };
}

const text = (b: Buffer) => b.toString('utf8');

describe('SecretRedactor', () => {
  it('redacts a secret split between two writes at every offset', () => {
    const secret = 'hunter2-s3cret';
    const output = Buffer.from(`token=${secret}; again:${secret}\n`);
    for (let cut = 0; cut <= output.length; cut++) {
      expect(text(streamed(output, [secret], [cut]).result), `cut at ${cut}`).toBe(`token=${REDACTED}; again:${REDACTED}\n`);
    }
  });

  it('redacts a secret written one byte at a time, and across every pair of cuts', () => {
    const secret = 'abcd';
    const output = Buffer.from('xxabcdyyabcabcdzz');
    const want = `xx${REDACTED}yyabc${REDACTED}zz`;
    expect(
      text(
        streamed(
          output,
          [secret],
          Array.from({ length: output.length }, (_, i) => i),
        ).result,
      ),
    ).toBe(want);
    for (let a = 0; a <= output.length; a++) {
      for (let b = a; b <= output.length; b++) expect(text(streamed(output, [secret], [a, b]).result), `cuts ${a}, ${b}`).toBe(want);
    }
  });

  it('covers overlapping occurrences with one [redacted]', () => {
    expect(text(streamed(Buffer.from('x abcd y'), ['abc', 'bcd'], []).result)).toBe(`x ${REDACTED} y`);
    // A secret that overlaps itself.
    expect(text(streamed(Buffer.from('-ababa-'), ['aba'], []).result)).toBe(`-${REDACTED}-`);
    // Occurrences next to each other, not overlapping: one each.
    expect(text(streamed(Buffer.from('abcabc'), ['abc'], []).result)).toBe(`${REDACTED}${REDACTED}`);
    // One inside another.
    expect(text(streamed(Buffer.from('<password>'), ['password', 'ss'], []).result)).toBe(`<${REDACTED}>`);
  });

  it('waits for a longer secret that a shorter one is a prefix of', () => {
    const secrets = ['ab', 'abcd'];
    const output = Buffer.from('ab abcd abc');
    for (let cut = 0; cut <= output.length; cut++) {
      // Redacting `ab` of `abcd` before `cd` arrives would let `cd` out on its own.
      expect(text(streamed(output, secrets, [cut]).result), `cut at ${cut}`).toBe(`${REDACTED} ${REDACTED} ${REDACTED}c`);
    }
    const redactor = new SecretRedactor(secrets);
    expect(text(redactor.write(Buffer.from('x ab')))).toBe('x ');
    expect(text(redactor.write(Buffer.from('cd')))).toBe(REDACTED);
  });

  it('matches multibyte UTF-8 secrets byte for byte, split inside a character too', () => {
    const secret = 'pässwörd🔑日本';
    const output = Buffer.from(`ünïcødé ${secret} ✓`);
    for (let cut = 0; cut <= output.length; cut++) {
      for (const second of [cut, Math.min(output.length, cut + 1), Math.min(output.length, cut + 3)]) {
        expect(text(streamed(output, [secret], [cut, second]).result), `cuts ${cut}, ${second}`).toBe(`ünïcødé ${REDACTED} ✓`);
      }
    }
  });

  it('holds back only what could still begin a secret, and flushes it at the end', () => {
    const redactor = new SecretRedactor(['abcd']);
    expect(text(redactor.write(Buffer.from('hello ')))).toBe('hello '); // nothing here can begin a secret
    expect(text(redactor.write(Buffer.from('xab')))).toBe('x');
    expect(text(redactor.write(Buffer.from('c')))).toBe('');
    expect(text(redactor.end())).toBe('abc'); // the stream ended before the secret did
    expect(text(redactor.end())).toBe('');

    // Never more than the longest secret's length − 1 bytes.
    const long = new SecretRedactor(['abcdefgh', 'xy']);
    let passed = 0;
    let written = 0;
    for (let i = 0; i < 100; i++) {
      const chunk = Buffer.from('abcdefg'.slice(0, (i % 7) + 1));
      written += chunk.length;
      passed += long.write(chunk).length;
      expect(written - passed).toBeLessThanOrEqual(7);
    }
  });

  it('passes output through unchanged, holding nothing back, when there are no secrets', () => {
    for (const secrets of [[], [''], ['', '']]) {
      const redactor = new SecretRedactor(secrets);
      expect(redactor.active).toBe(false);
      const chunk = Buffer.from([0x61, 0xff, 0xe2, 0x82]); // bytes that are not UTF-8 and an incomplete character
      expect(redactor.write(chunk)).toBe(chunk);
      expect(redactor.end()).toEqual(Buffer.alloc(0));
    }
  });

  it('leaves bytes that are not UTF-8 as they are around a secret', () => {
    const output = Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), Buffer.from('key'), Buffer.from([0x80, 0xfe])]);
    expect(streamed(output, ['key'], [4]).result).toEqual(
      Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), Buffer.from(REDACTED), Buffer.from([0x80, 0xfe])]),
    );
  });

  it('agrees with redacting the whole output at once, for random output, secrets and cuts', () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    for (let round = 0; round < 2000; round++) {
      const alphabet = round % 2 ? 'ab' : 'abcé';
      const secrets = Array.from({ length: 1 + random(3) }, () => word(alphabet, 1 + random(5)));
      const output = Buffer.from(word(alphabet, random(40)));
      const cuts = Array.from({ length: random(6) }, () => random(output.length + 1)).sort((a, b) => a - b);
      const { result } = streamed(output, secrets, cuts);
      expect(text(result), JSON.stringify({ secrets, output: text(output), cuts })).toBe(text(expected(output, secrets)));
    }
  });
});

describe('redactOutput', () => {
  it('redacts each stream on its own and passes on what they hold at the end', () => {
    const got: [string, string][] = [];
    const out = redactOutput(['abcd'], (stream, data) => got.push([stream, data.toString()]));
    out.output('stdout', Buffer.from('1 ab'));
    out.output('stderr', Buffer.from('2 cd')); // the other stream: no secret
    out.output('stdout', Buffer.from('cd 3 abc'));
    expect(got).toEqual([
      ['stdout', '1 '],
      ['stderr', '2 cd'],
      ['stdout', `${REDACTED} 3 `],
    ]);
    out.end();
    expect(got.slice(3)).toEqual([['stdout', 'abc']]);
  });
});
