#!/usr/bin/env node
/**
 * Copies Scalar's standalone viewer next to the API bundle (dist/scalar-api-reference.js), where /api/docs
 * serves it from in production: @scalar/api-reference is a build-time dependency (its npm dependencies are
 * hundreds of megabytes that only its own build needs), so the production install does not have it.
 * The file name is BUNDLED_VIEWER_FILE of src/lib/api-docs.ts. Run from apps/api after the bundle is built.
 */
import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const main = createRequire(import.meta.url).resolve('@scalar/api-reference');
copyFileSync(join(dirname(main), 'browser', 'standalone.js'), join('dist', 'scalar-api-reference.js'));
