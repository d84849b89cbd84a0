import type { IncomingMessage, ServerResponse } from 'node:http';

export function originOf(value: string | undefined): string | null;
export function parseAllowedOrigins(value: string | undefined): string[];
export function refusalReason(request: {
  method: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  selfOrigin: string;
  allowedOrigins: readonly string[];
}): string | null;
export function sameOriginGuard<Req extends IncomingMessage>(options: {
  selfOrigin: (req: Req) => string;
  allowedOrigins?: readonly string[];
  log?: (message: string) => void;
}): (req: Req, res: ServerResponse, next: () => void) => void;
export function expressSelfOrigin(
  req: IncomingMessage & { protocol: string; hostname: string; get(name: string): string | undefined },
): string;
export function nodeSelfOrigin(req: IncomingMessage): string;
