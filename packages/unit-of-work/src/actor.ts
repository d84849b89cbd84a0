/** Who makes a change: recorded on its audit row and on the domain events it causes. */

export type ActorType = 'user' | 'api_key' | 'device' | 'system';

/**
 * `id` is the user's, API key's or device's ID (null for system processes, and for a failed sign-in of an
 * unknown account); `name` is what people read: an email, a key's name, a hostname, or for a system
 * process what it is ("workflow jobRun", "schedule device-presence").
 */
export interface Actor {
  type: ActorType;
  id: string | null;
  name: string | null;
}

export const userActor = (user: { id: string; email: string }): Actor => ({ type: 'user', id: user.id, name: user.email });
export const deviceActor = (device: { id: string; hostname: string }): Actor => ({ type: 'device', id: device.id, name: device.hostname });
export const systemActor = (name: string): Actor => ({ type: 'system', id: null, name });

/** An actor and where the request came from (null for system processes). */
export interface Origin {
  actor: Actor;
  ipAddress?: string | null;
  userAgent?: string | null;
}
