/** Job definitions (issue 7): the job library (jobs and versions), checking, digests, version diffs, the JSON Schema, JSON and YAML files, run values and steps as devices run them. */
export * from './definition.ts';
export * from './definition-file.ts';
export * from './references.ts';
export * from './run-values.ts';
export * from './job-service.ts';
export * from './step-machine.ts';
export * from './step-payload.ts';
export * from './job-runs.ts';
