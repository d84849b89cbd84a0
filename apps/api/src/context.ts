/** What every handler can reach: dependencies passed in by the entry point (never read from the env here). */
import type { AgentlessRelay } from './services/agentless-relay.ts';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '@opsconductor/db';
import type { DeviceLifecycle } from '@opsconductor/devices';
import type { AttributeService, GroupMembership, GroupService } from '@opsconductor/groups';
import type { EnrollmentTokenService, UserService } from '@opsconductor/identity';
import type { InventoryService } from '@opsconductor/inventory';
import type { JobService } from '@opsconductor/jobs';
import type { SecretStore } from '@opsconductor/secrets';
import type { DepotSigning } from './services/depot-signing.ts';
import type { Role } from '@opsconductor/contracts/api';
import type { AgentAdmission } from './lib/agent-admission.ts';
import type { TrustedProxies } from './lib/client-address.ts';
import type { CommandWakeups } from './lib/command-wakeups.ts';
import type { DeviceAuthenticator } from './lib/device-auth.ts';
import type { EventHub } from '@opsconductor/db/event-hub';
import type { LastSeenWriter } from './lib/last-seen.ts';
import type { LoginThrottle, LoginThrottlePolicy } from './lib/login-throttle.ts';
import type { ApiMetrics } from './lib/metrics.ts';
import type { FileStore } from './services/files.ts';
import type { PresenceThresholds } from '@opsconductor/rules';

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
  /** Each agent channel is pinged once per this many seconds (CHANNEL_PING_SECONDS); one that missed a pong is cut off. */
  channelPingSeconds: number;
  /** A device counts as online when seen within this many seconds. */
  presence: PresenceThresholds;
  /** How often agents send a full inventory, and a delta in between. */
  inventoryFullIntervalSeconds: number;
  inventoryDeltaIntervalSeconds: number;
  /** /readyz counts a worker as alive when it polled the task queue within this many seconds. */
  workerPollerWindowSeconds: number;
  /** Bearer token for /metrics (METRICS_TOKEN); null serves them on the metrics listener only. */
  metricsToken: string | null;
  /** How often agents' last-seen times are written (in one batch). */
  lastSeenFlushSeconds: number;
  /** Most agent long-polls one API process holds at once (AGENT_MAX_LONG_POLLS); more are 503 `server_busy`. */
  maxLongPolls: number;
  /** Inventory reports ingested at once (they run on the admin pool); more wait, then 503 `server_busy`. */
  inventoryConcurrency: number;
  /** Where stored files live (FILE_STORE_DIR) and how large one may be (FILE_UPLOAD_MAX_BYTES). */
  fileStoreDir: string;
  fileUploadMaxBytes: number;
  /** The built-in software depot's directory (DEPOT_DIR) and its largest upload (DEPOT_UPLOAD_MAX_BYTES). */
  depotDir: string;
  depotUploadMaxBytes: number;
  /** Every depot source is checked this often by one API process (DEPOT_HEALTH_INTERVAL_SECONDS); 0: never. */
  depotHealthIntervalSeconds: number;
  /** A deployment of at least this many devices needs a second operator's approval (DEPLOYMENT_APPROVAL_MIN_DEVICES); 0: never. */
  deploymentApprovalMinDevices: number;
  /** Required assignments are re-applied this often (ASSIGNMENT_ENFORCE_INTERVAL_SECONDS): removed software comes back; 0: never. */
  assignmentEnforceIntervalSeconds: number;
  /** Whether this process relays commands to agentless targets (AGENTLESS_RELAY; ADR 21). */
  agentlessRelay: boolean;
  /** The console's URL (CONSOLE_PUBLIC_URL): alert notifications link to it. */
  consoleUrl: string;
  /** Hosts notifications may reach on private addresses (NOTIFICATION_ALLOWED_HOSTS; ADR 25). */
  notificationAllowedHosts: string[];
}

/** The domain services routes call (packages/*): every mutation, with its audit row and events. */
export interface ApiServices {
  groups: GroupService;
  attributes: AttributeService;
  users: UserService;
  enrollmentTokens: EnrollmentTokenService;
  devices: DeviceLifecycle;
  inventory: InventoryService;
  jobs: JobService;
}

export interface ApiDeps {
  /** The admin API's pool (and Prisma's). */
  db: Database;
  /** Agent traffic's own pool, so a fleet of agents cannot starve people of connections. */
  agentPool: pg.Pool;
  wakeups: CommandWakeups;
  lastSeen: LastSeenWriter;
  admission: AgentAdmission;
  files: FileStore;
  /** The built-in depot's artifacts (services/depot.ts). */
  depot: FileStore;
  groups: GroupMembership;
  services: ApiServices;
  /** The secret store (write-only towards clients; values only for server-side use). */
  secrets: SecretStore;
  /** Signs artifact manifests; its public keys go to agents at check-in (ADR 23). */
  depotSigning: DepotSigning;
  /** Runs commands on agentless targets (services/agentless-relay.ts); absent where AGENTLESS_RELAY is off. */
  agentlessRelay?: AgentlessRelay;
  temporal: Client;
  events: EventHub;
  loginThrottle: LoginThrottle;
  deviceAuth: DeviceAuthenticator;
  metrics: ApiMetrics;
  logger: Logger;
  config: ApiConfig;
}

export interface AuthUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}
export interface AuthDevice {
  id: string;
  hostname: string;
}

export type AppEnv = {
  Variables: {
    deps: ApiDeps;
    user: AuthUser;
    sessionId: string;
    authMethod: 'cookie' | 'bearer';
    device: AuthDevice;
    /** When the request arrived (its first middleware ran): what an agent's request says about when the device was seen. */
    receivedAt: Date;
  };
};
