export {
  enabledRules,
  evaluateStateRules,
  FLAP_CLEAR_SECONDS,
  MAX_OPENED_PER_EVALUATION,
  openAlert,
  withdrawAlert,
  type AlertRuleRow,
  type AlertSubjectType,
  type EvaluationDeps,
  type EvaluationResult,
  type OpenedAlert,
  type Subject,
} from './alerts.ts';
export {
  CHANNEL_SECRET_OWNER,
  channelSecretRef,
  deliverToChannel,
  shownSettings,
  type DeliveryDeps,
  type DeliveryRequest,
  type LoggedDelivery,
} from './channels.ts';
export { alertMessage } from './messages.ts';
export { MATCHING_SILENCES, silenceOf, type ActiveSilence } from './silences.ts';
