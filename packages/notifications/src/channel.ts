/** A notification channel's configuration and secret, as the caller loaded them (this package has no database). */

export interface SlackChannel {
  type: 'slack';
  webhookUrl: string;
}
export interface TeamsChannel {
  type: 'teams';
  /** A Teams "Workflows" (Power Automate) webhook URL. */
  webhookUrl: string;
}
export interface DiscordChannel {
  type: 'discord';
  webhookUrl: string;
}
export interface WebhookChannel {
  type: 'webhook';
  url: string;
  /** A Standard Webhooks secret: `whsec_` and base64. */
  signingSecret: string;
}
export interface SmtpChannel {
  type: 'smtp';
  host: string;
  port: number;
  /** `tls`: TLS from the start (usually 465); `starttls`: plain, then STARTTLS, required (587); `none`: never TLS. */
  security: 'tls' | 'starttls' | 'none';
  username?: string;
  password?: string;
  /** PEM certificates to trust besides the system's (an internal CA). */
  ca?: string;
  from: string;
  to: string[];
}
export interface ResendChannel {
  type: 'resend';
  apiKey: string;
  from: string;
  to: string[];
  /** Default https://api.resend.com; it passes the SSRF guard like any other URL. */
  baseUrl?: string;
}

export type NotificationChannel = SlackChannel | TeamsChannel | DiscordChannel | WebhookChannel | SmtpChannel | ResendChannel;
export type NotificationChannelType = NotificationChannel['type'];
