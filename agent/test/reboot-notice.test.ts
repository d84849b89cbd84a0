/**
 * Reboot policy `force` with a notice: what the agent runs on each platform to warn logged-in users and restart
 * after the delay — argv only, the message one argument, sanitized and bounded — without restarting this machine.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NOTICE_TEXT_LENGTH, describeDelay, noticeText, restartPlan, sanitizeNoticeMessage } from '../src/handlers/reboot.ts';

const notice = { message: 'Office was updated. Save your work.', delaySeconds: 300 };
const text = 'OpsConductor: Office was updated. Save your work. This device restarts in 5 minutes.';

describe('restartPlan', () => {
  it('Windows: shutdown.exe counts down and shows the message itself', () => {
    expect(restartPlan(notice, { platform: 'win32', wall: '/usr/bin/wall' })).toEqual({
      delayMs: 0,
      restart: { file: 'shutdown.exe', args: ['/r', '/t', '300', '/d', 'p:4:2', '/c', text] },
    });
  });

  it('Linux: wall now, the agent waits the delay, then shutdown -r now', () => {
    expect(restartPlan(notice, { platform: 'linux', wall: '/usr/bin/wall' })).toEqual({
      notify: {
        file: '/usr/bin/wall',
        args: ['--', 'OpsConductor:', 'Office was updated. Save your work. This device restarts in 5 minutes.'],
      },
      delayMs: 300_000,
      restart: { file: '/sbin/shutdown', args: ['-r', 'now'] },
    });
  });

  it('Linux without wall: shutdown -r +<minutes> <message> (shutdown warns the users), rounding up', () => {
    expect(restartPlan({ message: 'x', delaySeconds: 90 }, { platform: 'linux', wall: null })).toEqual({
      delayMs: 0,
      restart: { file: '/sbin/shutdown', args: ['-r', '+2', 'OpsConductor: x This device restarts in 2 minutes.'] },
    });
    expect(restartPlan({ message: 'x', delaySeconds: 0 }, { platform: 'linux', wall: null }).restart.args.slice(0, 2)).toEqual([
      '-r',
      'now',
    ]);
  });

  it('with the restart command overridden, the agent waits the delay and runs the override', () => {
    expect(restartPlan(notice, { platform: 'linux', wall: null, override: 'echo restart >> /tmp/x' })).toEqual({
      delayMs: 300_000,
      restart: { file: '/bin/sh', args: ['-c', 'echo restart >> /tmp/x'] },
    });
  });

  it('without a notice, restarts at once as before', () => {
    expect(restartPlan(undefined, { platform: 'linux' })).toEqual({ delayMs: 0, restart: { file: '/sbin/shutdown', args: ['-r', 'now'] } });
    expect(restartPlan(undefined, { platform: 'win32' }).restart).toEqual({
      file: 'shutdown.exe',
      args: ['/r', '/t', '5', '/c', 'OpsConductor: reboot command'],
    });
  });

  it('never lets the message become more than one harmless argument', () => {
    const hostile = `"; shutdown /a & rem \u001b[2J\u202e\nrm -rf / $(reboot) ${'x'.repeat(2000)}`;
    const plan = restartPlan({ message: hostile, delaySeconds: 60 }, { platform: 'win32' });
    const args = plan.restart.args;
    expect(args.slice(0, 6)).toEqual(['/r', '/t', '60', '/d', 'p:4:2', '/c']);
    expect(args).toHaveLength(7);
    const shown = args[6]!;
    expect(shown.length).toBeLessThanOrEqual(MAX_NOTICE_TEXT_LENGTH);
    expect(shown).not.toMatch(/["\u0000-\u001f\u202e]/);
    expect(shown.startsWith("OpsConductor: '; shutdown /a & rem [2J rm -rf / $(reboot) xxx")).toBe(true);
    // On Linux the text follows `--`: nothing in it is an option, and two arguments are never a file name to wall.
    const linux = restartPlan({ message: '--help /etc/shadow', delaySeconds: 10 }, { platform: 'linux', wall: '/usr/bin/wall' });
    expect(linux.notify!.args).toEqual(['--', 'OpsConductor:', '--help /etc/shadow This device restarts in 10 seconds.']);
  });
});

describe('notice text', () => {
  it('sanitizes, bounds and defaults the message', () => {
    expect(sanitizeNoticeMessage('  a\tb\r\nc  ')).toBe('a b c');
    expect(sanitizeNoticeMessage('\u0007\u0000 ')).toBe('Software was installed that needs a restart. Save your work.');
    expect(Array.from(sanitizeNoticeMessage('é'.repeat(1000)))).toHaveLength(400);
    expect(noticeText(notice)).toBe(text);
    expect(describeDelay(0)).toBe('now');
    expect(describeDelay(1)).toBe('in 1 second');
    expect(describeDelay(59)).toBe('in 59 seconds');
    expect(describeDelay(60)).toBe('in 1 minute');
    expect(describeDelay(61)).toBe('in 2 minutes');
  });
});
