#!/usr/bin/env node
/**
 * Prebuilds the workflow bundle for production (Temporal's recommendation): the worker then loads
 * dist/workflow-bundle.js (workflowBundle.codePath) instead of bundling the workflow sources with webpack at every
 * start. Run after build-service.mjs, which empties dist/.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

const { code } = await bundleWorkflowCode({
  workflowsPath: createRequire(import.meta.url).resolve('@opsconductor/workflows'),
  logger: new DefaultLogger('WARN'),
});
await writeFile(new URL('../dist/workflow-bundle.js', import.meta.url), code);
