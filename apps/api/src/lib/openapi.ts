/**
 * Responses every operation of a kind can give, added to the generated document so that no route can
 * forget them: any operation can fail with 500, and any operation with a body can be refused for its
 * size (413, the body limit runs before the route) or its media type (415). Route-specific statuses
 * (409, 429, 503…) are declared on the routes.
 */
import { problemSchemaRef } from './problem.ts';

interface Operation { requestBody?: unknown; responses?: Record<string, unknown> }

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

// The generator has already turned zod into JSON Schema by now: refer to the registered component.
const documentedProblem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchemaRef } } });

export function withImpliedResponses<T extends { paths?: object }>(doc: T): T {
  for (const item of Object.values(doc.paths ?? {}) as object[]) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const operation = op as Operation;
      const responses = (operation.responses ??= {});
      if (operation.requestBody) {
        responses['413'] ??= documentedProblem('The request body is too large');
        responses['415'] ??= documentedProblem('The request body is not JSON');
      }
      responses['500'] ??= documentedProblem('An unexpected error');
    }
  }
  return doc;
}
