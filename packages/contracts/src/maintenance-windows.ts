/**
 * Maintenance windows: recurring stretches of wall-clock time, in one IANA time zone, during which a device may
 * install software (deployments respect them). Only the shape is checked here; when an instant is inside a window,
 * and when the next one opens, is computed by `@opsconductor/deployments` (pure functions, shared with workflows).
 *
 * `startTime` is the wall-clock time in `timeZone` on each recurring day (weekly: the listed weekdays, judged in that
 * zone, 0 = Sunday); `durationMinutes` is elapsed time, up to a week.
 */
import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';

const text = (max: number) => z.string().max(max).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export const maintenanceWindowRecurrences = ['daily', 'weekly'] as const;
export type MaintenanceWindowRecurrence = (typeof maintenanceWindowRecurrences)[number];

/** Longest window: a week, so a weekly window can cover the whole week. */
export const MAX_MAINTENANCE_WINDOW_MINUTES = 7 * 24 * 60;

/** `HH:MM`, 24-hour clock, 00:00 to 23:59. */
export const WINDOW_START_TIME_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * The shape of an IANA zone name (`UTC`, `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`): letters
 * first, then segments separated by `/`. Keeps offset strings such as `+01:00` out (newer runtimes' Intl accepts
 * them, but they are not zones: they follow no daylight saving time). Linear: `/` is in no character class.
 */
const TIME_ZONE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** Whether this runtime's Intl (its ICU time-zone data) knows the zone. */
export function isKnownTimeZone(name: string): boolean {
  if (name.length > 64 || !TIME_ZONE_NAME_PATTERN.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const timeZoneName = z
  .string()
  .max(64)
  .refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Berlin, America/New_York or UTC');

export const maintenanceWindowSpec = z
  .object({
    name: text(120).refine((s) => s.trim().length > 0, 'must not be empty'),
    timeZone: timeZoneName,
    recurrence: z.enum(maintenanceWindowRecurrences),
    /** Weekly windows: the weekdays they open on, in `timeZone` (0 = Sunday … 6 = Saturday). */
    daysOfWeek: z
      .array(z.number().int().min(0).max(6))
      .max(7)
      .refine((days) => new Set(days).size === days.length, 'must not list a day twice')
      .optional(),
    startTime: z.string().regex(WINDOW_START_TIME_PATTERN, 'must be a 24-hour time HH:MM, e.g. 02:30'),
    durationMinutes: z.number().int().min(1).max(MAX_MAINTENANCE_WINDOW_MINUTES),
  })
  .superRefine((w, ctx) => {
    const days = w.daysOfWeek ?? [];
    if (w.recurrence === 'weekly' && days.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['daysOfWeek'], message: 'a weekly window needs at least one day of the week' });
    }
    if (w.recurrence === 'daily' && days.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['daysOfWeek'], message: 'a daily window opens every day: leave daysOfWeek out' });
    }
  })
  .meta({ id: 'MaintenanceWindowSpec' });
export type MaintenanceWindowSpec = z.infer<typeof maintenanceWindowSpec>;
