/** A time-skipping Temporal test server with our search attributes, and one workflow bundle per test file. */
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporalTestServerPath } from '@opsconductor/test/support/tools';
import { ensureSearchAttributes } from '@opsconductor/workers/search-attributes';

export const workflowsPath = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const shortDispatchTimeoutPath = fileURLToPath(new URL('./short-dispatch-timeout.ts', import.meta.url));
const earlyContinueAsNewPath = fileURLToPath(new URL('./early-continue-as-new.ts', import.meta.url));

let quiet = false;
/** Keeps the SDK's own logs to warnings (once per process: the runtime can only be installed before first use). */
export function quietTemporalLogs(): void {
  if (quiet) return;
  quiet = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by an earlier test file in this process.
  }
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalLogs();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  return env;
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * The workflow bundle (built once per test file). `shortDispatchTimeout` adds the test interceptor that makes
 * unanswered dispatches time out after a second or two (see support/short-dispatch-timeout.ts);
 * `earlyContinueAsNew` the one that has deployment rollouts continue as new after a few hundred history events
 * (support/early-continue-as-new.ts).
 */
export function workflowBundle(
  opts: { shortDispatchTimeout?: boolean; earlyContinueAsNew?: boolean } = {},
): Promise<WorkflowBundleWithSourceMap> {
  const key = opts.shortDispatchTimeout ? 'short' : opts.earlyContinueAsNew ? 'early-continue-as-new' : 'plain';
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath,
      workflowInterceptorModules: opts.shortDispatchTimeout
        ? [shortDispatchTimeoutPath]
        : opts.earlyContinueAsNew
          ? [earlyContinueAsNewPath]
          : [],
      logger: new DefaultLogger('WARN'),
    });
    bundles.set(key, bundle);
  }
  return bundle;
}
