export {
  normaliseMessage,
  kindLabel,
  severityLabel,
  shownSubjects,
  InvalidMessageError,
  MESSAGE_LIMITS,
  type AlertMessage,
  type AlertMessageKind,
  type AlertMessageSeverity,
  type AlertSubject,
  type AlertField,
} from './message.ts';
export { safePrefix, truncate, truncateEscaped, cleanText, cleanLine, linkUrl } from './text.ts';
export {
  renderSlack,
  escapeSlack,
  SLACK_LIMITS,
  type SlackPayload,
  type SlackBlock,
  type SlackMrkdwn,
  type SlackPlainText,
} from './render/slack.ts';
export {
  renderTeams,
  TEAMS_LIMITS,
  ADAPTIVE_CARD_SCHEMA,
  type TeamsPayload,
  type AdaptiveCard,
  type AdaptiveCardElement,
} from './render/teams.ts';
export { renderDiscord, escapeDiscord, embedLength, DISCORD_LIMITS, type DiscordPayload, type DiscordEmbed } from './render/discord.ts';
export { escapeMarkdown } from './render/markdown.ts';
export { renderWebhook, type WebhookPayload } from './render/webhook.ts';
export { renderEmail, escapeHtml, EMAIL_LIMITS, type EmailContent } from './render/email.ts';
export type {
  NotificationChannel,
  NotificationChannelType,
  SlackChannel,
  TeamsChannel,
  DiscordChannel,
  WebhookChannel,
  SmtpChannel,
  ResendChannel,
} from './channel.ts';
export { deliver, isSigningSecret, DEFAULT_TIMEOUT_MS, type DeliveryOptions } from './deliver.ts';
export { parseRetryAfter, type DeliveryResult } from './result.ts';
export { deliverSmtp, type SmtpDeliveryOptions } from './send/smtp.ts';
export { deliverResend, RESEND_BASE_URL, RESEND_MAX_RECIPIENTS, type ResendDeliveryOptions } from './send/resend.ts';
export { blockedAddressReason } from './address.ts';
export {
  guardedFetch,
  createGuardedDispatcher,
  checkDestinationUrl,
  isAllowedHost,
  blockedCause,
  defaultResolver,
  BlockedDestinationError,
  type DestinationPolicy,
  type HostResolver,
  type ResolvedAddress,
  type GuardedDispatcherOptions,
  type GuardedFetchInit,
  type GuardedFetchOptions,
} from './ssrf.ts';
