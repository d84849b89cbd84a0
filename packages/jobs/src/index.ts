/** Job definitions (issue 7): checking, digests, version diffs, the JSON Schema, run values and steps as devices run them. */
export * from './definition.ts';
export * from './references.ts';
export * from './run-values.ts';
