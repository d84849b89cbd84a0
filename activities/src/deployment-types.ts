/**
 * Inputs and outputs of the deployment activities (ADR 24). Workflow code imports these as types only, so this module
 * must stay free of runtime code.
 */
import type { DeploymentStatus } from '@opsconductor/contracts/deployments';
import type { AutoPause, HealthSample, WaveTally } from '@opsconductor/deployments';
import type { CommandRef } from './types.ts';

export interface RolloutWave {
  index: number;
  label: string;
  size: number;
  state: 'planned' | 'installing' | 'soaking' | 'completed' | 'cancelled';
}

/** What the rollout workflow needs of its deployment (the rest stays in the database). */
export interface RolloutPlan {
  deploymentId: string;
  name: string;
  status: DeploymentStatus;
  action: 'install' | 'uninstall';
  startsAt: string;
  deadlineAt: string | null;
  waves: RolloutWave[];
  soakSeconds: number;
  successPercent: number;
  autoPause: AutoPause | null;
  health: {
    maxExcessPercent: number;
    minDevices: number;
    onFailure: 'pause' | 'rollback';
    script: boolean;
    /** Absent in plans loaded before it was added (their soaks are analyzed every minute). */
    offlineAfterSeconds?: number;
  } | null;
  rebootPolicy: 'suppress' | 'in_window' | 'force';
  retries: { count: number; backoffSeconds: number };
  /** The version has an uninstall command (an install can be rolled back). */
  canRollBack: boolean;
}

/** A job run the rollout starts as a child `jobRun` workflow: its input, by value. */
export interface RolloutRun {
  jobRunId: string;
  deviceIds: string[];
  command: CommandRef;
  deadlineAt: string;
  maxConcurrency?: number;
}

export interface WaveAttemptInput {
  deploymentId: string;
  wave: number;
  /** 1 for the wave's first attempt; later ones take the devices a retry may help. */
  attempt: number;
}

export interface WaveProgress extends WaveTally {
  /** The job run of the attempt has ended (every device has its outcome). */
  runFinished: boolean;
}

export type RolloutEventType =
  | 'approved'
  | 'rejected'
  | 'started'
  | 'wave_started'
  | 'wave_retry'
  | 'wave_completed'
  | 'soak_started'
  | 'health_checked'
  | 'paused'
  | 'resumed'
  | 'aborted'
  | 'rollback_started'
  | 'rolled_back'
  | 'reboot_scheduled'
  | 'completed'
  | 'failed';

/** A state change of a deployment (and of one of its waves), with the timeline entry and domain event it causes. */
export interface RecordRolloutInput {
  deploymentId: string;
  status?: DeploymentStatus;
  currentWave?: number | null;
  /** Set with `paused`, cleared otherwise. */
  pausedReason?: string | null;
  wave?: { index: number; state: RolloutWave['state']; soakUntil?: string };
  /** Cancels every wave not completed (abort, rollback, failure). */
  cancelOpenWaves?: boolean;
  event: { type: RolloutEventType; message: string; actor?: string | null; details?: Record<string, unknown> };
  /** The pause was the rollout's own decision (auto-pause, success criteria, health analysis). */
  automatic?: boolean;
}

export interface HealthInput {
  deploymentId: string;
  wave: number;
  /** The health-script run of the wave's soak, if one was started. */
  healthRunId: string | null;
}

export type { HealthSample };
