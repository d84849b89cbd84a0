/** SECRETS_MASTER_KEYS as an environment setting, for the API's and the worker's configuration schemas. */
import { z } from 'zod';
import { InvalidMasterKeysError, parseMasterKeys } from './master-keys.ts';

/** `id:base64key[,id:base64key…]`; unset or empty: no keys (the store is unavailable). Every problem is an issue. */
export const masterKeysEnv = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return [];
    try {
      return parseMasterKeys(value);
    } catch (err) {
      if (!(err instanceof InvalidMasterKeysError)) throw err;
      for (const problem of err.problems) ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
  });
