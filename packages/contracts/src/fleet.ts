/**
 * The fleet at a glance (GET /api/v1/fleet/summary, the console's home page): presence, operating systems, agent
 * versions, compliance of the required software assignments, deployments in progress and recent failed runs; and the
 * deployments touching one device (GET /api/v1/devices/{id}/deployments). Shapes of apps/api/src/routes/fleet.ts.
 */
import { z } from 'zod';
import { uuid } from './api.ts';
import { deploymentDeviceStatuses, deploymentStatuses } from './deployments.ts';
import { osFamilies } from './constants.ts';

/** Deployments the summary counts as in progress: not finished, not refused. */
export const inProgressDeploymentStatuses = ['pending_approval', 'scheduled', 'running', 'paused', 'rolling_back'] as const;
/** Most entries per breakdown (the rest is summed up in `other`). */
export const FLEET_BREAKDOWN_LIMIT = 12;
/** Most required assignments the summary lists (the least compliant first). */
export const FLEET_COMPLIANCE_LIMIT = 50;
/** Most deployments in progress it lists (the newest first). */
export const FLEET_DEPLOYMENTS_LIMIT = 20;
/** Latest failed runs it lists. */
export const FLEET_FAILED_RUNS_LIMIT = 5;

const count = z.number().int();

export const fleetSummary = z
  .object({
    generatedAt: z.string(),
    onlineWindowSeconds: count.describe('A device heard from within this many seconds (and not stopped) is online'),
    offlineAfterSeconds: count.describe('A device not heard from for longer (or whose agent said goodbye) is offline; stale in between'),
    devices: z
      .object({
        total: count.describe('Active (not retired) devices'),
        online: count,
        stale: count.describe('Heard from within the offline threshold, not within the online window: missed check-ins'),
        offline: count.describe('Heard from before, not within the offline threshold (or its agent said goodbye)'),
        neverSeen: count.describe('Enrolled, never checked in'),
        pendingReboot: count,
      })
      .meta({ id: 'FleetDeviceCounts' }),
    os: z
      .object({
        items: z.array(z.object({ osFamily: z.enum(osFamilies), osName: z.string(), osVersion: z.string(), devices: count })),
        other: count.describe('Devices of the OS versions not listed'),
      })
      .describe('Active devices by OS name and version, most devices first'),
    agentVersions: z
      .object({ items: z.array(z.object({ agentVersion: z.string(), devices: count })), other: count })
      .describe('Active agent devices by agent version, most devices first'),
    compliance: z
      .object({
        items: z.array(
          z
            .object({
              assignmentId: uuid,
              package: z.object({ id: uuid, name: z.string() }),
              version: z
                .object({ id: uuid, version: z.string() })
                .nullable()
                .describe('The version wanted: the assignment’s own or the package’s latest (null: the package has no version)'),
              latest: z.boolean().describe('The assignment follows the latest version'),
              target: z.object({ type: z.enum(['device', 'group']), id: uuid, name: z.string() }),
              devices: count.describe('Active devices the assignment covers'),
              compliant: count.describe('Report the wanted version installed'),
              nonCompliant: count.describe('Report it failed or not installed'),
              pending: count.describe('No report of the wanted version yet'),
            })
            .meta({ id: 'FleetComplianceItem' }),
        ),
        total: count.describe('Required assignments'),
      })
      .describe('Required assignments, least compliant first'),
    deployments: z
      .object({
        items: z.array(
          z
            .object({
              id: uuid,
              name: z.string(),
              status: z.enum(deploymentStatuses),
              pausedReason: z.string().nullable(),
              package: z.object({ id: uuid, name: z.string() }),
              version: z.object({ id: uuid, version: z.string() }),
              currentWave: z.number().int().nullable(),
              total: count,
              succeeded: count.describe('Succeeded, already installed or waiting for a restart'),
              failed: count,
              waves: z.array(
                z.object({
                  index: count,
                  label: z.string(),
                  state: z.string(),
                  size: count,
                  done: count.describe('Devices of the wave with a final status'),
                  succeeded: count,
                  failed: count,
                }),
              ),
            })
            .meta({ id: 'FleetDeployment' }),
        ),
        total: count,
      })
      .describe('Deployments in progress (pending approval, scheduled, running, paused, rolling back), newest first'),
    failedRuns: z
      .object({
        last24h: count.describe('Job runs created in the last 24 hours that ended failed (GET /job-runs?status=failed&from=…)'),
        latest: z.array(
          z.object({
            id: uuid,
            command: z.string(),
            kind: z.string(),
            finishedAt: z.string().nullable(),
            failedDevices: count,
            devices: count,
          }),
        ),
      })
      .describe('Failed job runs created in the last 24 hours: their count and the latest few'),
  })
  .meta({ id: 'FleetSummary' });
export type FleetSummary = z.infer<typeof fleetSummary>;

export const deviceDeployment = z
  .object({
    id: uuid,
    name: z.string(),
    status: z.enum(deploymentStatuses),
    action: z.enum(['install', 'uninstall']),
    package: z.object({ id: uuid, name: z.string() }),
    version: z.object({ id: uuid, version: z.string() }),
    createdAt: z.string(),
    device: z.object({
      status: z.enum(deploymentDeviceStatuses),
      wave: count,
      attempts: count,
      jobRunId: uuid.nullable(),
      finishedAt: z.string().nullable(),
    }),
  })
  .meta({ id: 'DeviceDeployment' });
export const deviceDeploymentList = z.object({ items: z.array(deviceDeployment) }).meta({ id: 'DeviceDeploymentList' });
/** Most deployments GET /devices/{id}/deployments returns (the newest). */
export const DEVICE_DEPLOYMENTS_LIMIT = 20;
