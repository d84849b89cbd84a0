/**
 * Route schemas for rule-bearing bodies. The recursive zod `rule` schema cannot be turned into OpenAPI
 * by the generator (it recurses forever), so routes take the rule as JSON and check it with
 * validateRule — which runs that zod schema plus the semantic checks, answering 400 `rule_invalid`
 * with paths — while the document describes it with this recursive `Rule` component.
 */
import { z } from '@hono/zod-openapi';
import { alertConditionOptions, createAlertRuleBody, deviceRuleCondition, updateAlertRuleBody } from '@opsconductor/contracts/alerts-api';
import { createGroupRequest, group, rulePreviewRequest, updateGroupRequest } from '@opsconductor/contracts/inventory-api';
import { ruleOperators, softwareNameMatches, softwareVersionOps } from '@opsconductor/contracts/constants';

const ref = { $ref: '#/components/schemas/Rule' };

export const ruleJson = z.unknown().openapi('Rule', {
  description:
    'A dynamic-group rule: `all` / `any` / `not` over field, software and group-membership conditions (see GET /api/docs, "groups").',
  oneOf: [
    { type: 'object', required: ['all'], additionalProperties: false, properties: { all: { type: 'array', minItems: 1, items: ref } } },
    { type: 'object', required: ['any'], additionalProperties: false, properties: { any: { type: 'array', minItems: 1, items: ref } } },
    { type: 'object', required: ['not'], additionalProperties: false, properties: { not: ref } },
    {
      type: 'object',
      required: ['field', 'op'],
      additionalProperties: false,
      properties: {
        field: { type: 'string', description: 'A field of the catalog, or customFields.<key>' },
        op: { type: 'string', enum: ruleOperators },
        value: {},
      },
    },
    {
      type: 'object',
      required: ['software'],
      additionalProperties: false,
      properties: {
        software: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            match: { type: 'string', enum: [...softwareNameMatches] },
            version: {
              type: 'object',
              required: ['op', 'value'],
              properties: { op: { type: 'string', enum: [...softwareVersionOps] }, value: { type: 'string' } },
            },
          },
        },
        present: { type: 'boolean', default: true },
      },
    },
    { type: 'object', required: ['memberOf'], additionalProperties: false, properties: { memberOf: { type: 'string', format: 'uuid' } } },
  ],
});

// The documented shapes of the group DTOs are these, so the component names are given here, not in contracts.
export const createGroupBody = z
  .discriminatedUnion('kind', [createGroupRequest.options[0], createGroupRequest.options[1].extend({ rule: ruleJson })])
  .openapi('CreateGroupRequest');
export const updateGroupBody = updateGroupRequest.extend({ rule: ruleJson.optional() }).openapi('UpdateGroupRequest');
export const rulePreviewBody = rulePreviewRequest.extend({ rule: ruleJson }).openapi('RulePreviewRequest');
/**
 * The rule of a dynamic group, `null` for a static one (the `Rule` component alone does not admit null); always
 * present (a `z.unknown()` would be documented as optional).
 */
const nullableRule = z.union([z.looseObject({}), z.null()]).openapi({ anyOf: [ref, { type: 'null' }] });
export const groupResponse = group.extend({ rule: nullableRule }).openapi('Group');
export const groupListResponse = z.object({ items: z.array(groupResponse) }).openapi('GroupList');

/** Alert rules' conditions, their dynamic-group rule documented as the `Rule` component. */
const alertConditionBody = z
  .discriminatedUnion('type', [...alertConditionOptions, deviceRuleCondition(ruleJson)])
  .openapi('AlertCondition');
export const createAlertRuleRequest = createAlertRuleBody.extend({ condition: alertConditionBody }).openapi('CreateAlertRule');
export const updateAlertRuleRequest = updateAlertRuleBody.extend({ condition: alertConditionBody.optional() }).openapi('UpdateAlertRule');
