/** What every handler can reach: dependencies passed in by the entry point (never read from the env here). */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Database } from '@opsconductor/db';
import type { DeviceLifecycle } from '@opsconductor/devices';
import type { AttributeService, GroupMembership, GroupService } from '@opsconductor/groups';
import type { EnrollmentTokenService, UserService } from '@opsconductor/identity';
import type { InventoryService } from '@opsconductor/inventory';
import type { SecretStore } from '@opsconductor/secrets';
import type { Role } from '@opsconductor/contracts/api';
import type { TrustedProxies } from './lib/client-address.ts';
import type { DeviceAuthenticator } from './lib/device-auth.ts';
import type { EventHub } from './lib/events.ts';
import type { LoginThrottle, LoginThrottlePolicy } from './lib/login-throttle.ts';
import type { ApiMetrics } from './lib/metrics.ts';

export interface ApiConfig {
  temporalNamespace: string;
  temporalTaskQueue: string;
  temporalUiUrl: string | null;
  apiPublicUrl: string;
  webOrigins: string[];
  /** Proxies whose X-Forwarded-For is believed (the console, a reverse proxy); nobody by default. */
  trustedProxies: TrustedProxies;
  loginThrottlePolicy: LoginThrottlePolicy;
  sessionTtlDays: number;
  secureCookies: boolean;
  /** Long-poll cap and agent timing, overridable by tests. */
  pollWaitSeconds: number;
  checkinIntervalSeconds: number;
  /** A device counts as online when seen within this many seconds. */
  onlineWindowSeconds: number;
  /** How often agents send a full inventory, and a delta in between. */
  inventoryFullIntervalSeconds: number;
  inventoryDeltaIntervalSeconds: number;
  /** /readyz counts a worker as alive when it polled the task queue within this many seconds. */
  workerPollerWindowSeconds: number;
  /** Bearer token for /metrics (METRICS_TOKEN); null serves them on the metrics listener only. */
  metricsToken: string | null;
}

/** The domain services routes call (packages/*): every mutation, with its audit row and events. */
export interface ApiServices {
  groups: GroupService;
  attributes: AttributeService;
  users: UserService;
  enrollmentTokens: EnrollmentTokenService;
  devices: DeviceLifecycle;
  inventory: InventoryService;
}

export interface ApiDeps {
  db: Database;
  groups: GroupMembership;
  services: ApiServices;
  /** The secret store (write-only towards clients; values only for server-side use). */
  secrets: SecretStore;
  temporal: Client;
  events: EventHub;
  loginThrottle: LoginThrottle;
  deviceAuth: DeviceAuthenticator;
  metrics: ApiMetrics;
  logger: Logger;
  config: ApiConfig;
}

export interface AuthUser { id: string; email: string; name: string; role: Role }
export interface AuthDevice { id: string; hostname: string }

export type AppEnv = {
  Variables: {
    deps: ApiDeps;
    user: AuthUser;
    sessionId: string;
    authMethod: 'cookie' | 'bearer';
    device: AuthDevice;
  };
};
