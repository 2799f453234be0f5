/**
 * Derives the gateway's public contract from the DingTalk spec and the gateway additions.
 *
 * The gateway exposes DingTalk's operations unchanged except for authentication, so its
 * contract is computed, never hand-copied: a change to `dingtalk.yaml` changes both.
 *
 * ```ts
 * const gateway = deriveGatewayContract(dingtalkSpec, gatewayAdditions);
 * ```
 */
import { type InvalidInputRules, invalidInputRules } from './invalid-input.js';
import { type JsonObject, type OpenApiDocument, type Operation, type PathItem, operationsOf } from './openapi-document.js';

export interface GatewayAdditions extends JsonObject {
  info: JsonObject;
  servers?: JsonObject[];
  securitySchemes: Record<string, JsonObject>;
  'x-gateway-operation-responses': Record<string, { response: string; when?: 'requestBody' }>;
  'x-gateway-success-headers': Record<string, JsonObject>;
  /** More success headers for the operations of one method (`get`: the read cache's; `post`: idempotency's). */
  'x-gateway-method-success-headers'?: Partial<Record<'get' | 'post', Record<string, JsonObject>>>;
  /** Request parameters the gateway adds to the operations of one method (headers it reads). */
  'x-gateway-method-parameters'?: Partial<Record<'get' | 'post', JsonObject[]>>;
  /** Markdown above each operation's table of DingTalk codes for bad input. */
  'x-gateway-invalid-input-heading': string;
  /** The gateway's own endpoints, added as written (none of DingTalk's decoration applies to them). */
  paths?: Record<string, PathItem>;
  tags?: JsonObject[];
  components: {
    headers?: Record<string, JsonObject>;
    parameters?: Record<string, JsonObject>;
    schemas?: Record<string, JsonObject>;
    responses?: Record<string, JsonObject>;
  };
}

const RESPONSE_REF = '#/components/responses/';

export function deriveGatewayContract(dingtalk: OpenApiDocument, additions: GatewayAdditions): OpenApiDocument {
  const doc = structuredClone(dingtalk);
  const add = structuredClone(additions);
  const components = (doc.components ??= {});

  doc.info = { ...add.info, 'x-derived-from': `${String(dingtalk.info.title)} ${String(dingtalk.info.version)}` };
  if (add.servers) doc.servers = add.servers;

  // Operations that need no DingTalk token are the token endpoints: the gateway holds the
  // credentials and never exposes them.
  for (const { path, method, operation } of [...operationsOf(doc)]) {
    if (Array.isArray(operation.security) && operation.security.length === 0) {
      delete doc.paths[path]![method];
      if (!Object.keys(doc.paths[path]!).some((key) => key !== 'parameters')) delete doc.paths[path];
    }
  }

  const schemeNames = Object.keys(add.securitySchemes);
  components.securitySchemes = add.securitySchemes;
  doc.security = schemeNames.map((name) => ({ [name]: [] }));

  for (const kind of ['headers', 'parameters', 'schemas', 'responses'] as const) {
    for (const [name, value] of Object.entries(add.components[kind] ?? {})) {
      const target = (components[kind] ??= {});
      if (name in target) throw new Error(`gateway additions redefine components.${kind}.${name}`);
      target[name] = value;
    }
  }

  const merged = new Map<string, string>();
  for (const { path, method, operation } of operationsOf(doc)) {
    const table = invalidInputTable(invalidInputRules(dingtalk, path, method), operation.requestBody !== undefined);
    operation.description = `${String(operation.description ?? '').trimEnd()}\n\n${add['x-gateway-invalid-input-heading'].trimEnd()}\n\n${table}\n`.trimStart();
    addSuccessHeaders(operation, { ...add['x-gateway-success-headers'], ...add['x-gateway-method-success-headers']?.[method as 'get' | 'post'] });
    const parameters = add['x-gateway-method-parameters']?.[method as 'get' | 'post'];
    if (parameters) operation.parameters = [...(operation.parameters ?? []), ...structuredClone(parameters)];
    for (const [status, rule] of Object.entries(add['x-gateway-operation-responses'])) {
      if (rule.when === 'requestBody' && !operation.requestBody) continue;
      const gatewayRef = RESPONSE_REF + rule.response;
      const existing = operation.responses[status];
      if (!existing) {
        operation.responses[status] = { $ref: gatewayRef };
        continue;
      }
      operation.responses[status] = { $ref: RESPONSE_REF + mergeResponses(doc, existing, rule.response, merged) };
    }
  }

  for (const [path, item] of Object.entries(add.paths ?? {})) {
    if (path in doc.paths) throw new Error(`gateway additions redefine the path ${path}`);
    doc.paths[path] = item;
  }
  if (add.tags) doc.tags = [...((doc.tags as JsonObject[] | undefined) ?? []), ...add.tags];

  removeUnusedComponents(doc);
  removeUnusedTags(doc);
  return doc;
}

/**
 * The operation's DingTalk codes for bad input as a Markdown table, most specific first: one
 * row per field rule (two when a refused value has a code of its own), the body as a whole,
 * then everything else.
 */
export function invalidInputTable(rules: InvalidInputRules, hasBody: boolean): string {
  const rows: Array<[string, number, string]> = [];
  for (const [field, rule] of rules.fields) {
    const name = fieldLabel(field);
    if (rule.valueCode === rule.code) rows.push([name, rule.status, rule.code]);
    else rows.push([`${name}: missing or of the wrong type`, rule.status, rule.code], [`${name}: a value DingTalk refuses (empty, out of range, …)`, rule.status, rule.valueCode]);
  }
  if (hasBody) rows.push(['the body as a whole: missing, not declared as JSON, not JSON, not an object', rules.body.status, rules.body.code]);
  rows.push([rows.length === 0 ? 'any parameter or property' : 'any other parameter or property', rules.operation.status, rules.operation.code]);
  return ["| input | DingTalk's answer |", '|---|---|', ...rows.map(([input, status, code]) => `| ${input} | ${status} \`${code}\` |`)].join('\n');
}

/** `query.orderBy` → query parameter `orderBy`; `body.option.teamId` → body property `option.teamId`. */
function fieldLabel(field: string): string {
  const [where, ...rest] = field.split('.');
  const name = rest.join('.');
  return where === 'body' ? `body property \`${name}\`` : `${where} parameter \`${name}\``;
}

/** A tag whose operations were all dropped would show as an empty section in the docs. */
function removeUnusedTags(doc: OpenApiDocument): void {
  if (!Array.isArray(doc.tags)) return;
  const used = new Set([...operationsOf(doc)].flatMap(({ operation }) => (operation.tags as string[] | undefined) ?? []));
  doc.tags = (doc.tags as Array<{ name: string }>).filter((tag) => used.has(tag.name));
}

function addSuccessHeaders(operation: Operation, headers: Record<string, JsonObject>): void {
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!status.startsWith('2')) continue;
    response.headers = { ...(response.headers as JsonObject | undefined), ...headers };
  }
}

/**
 * A response where DingTalk and the gateway can both answer with the same status: either
 * body may come back, so the merged schema is `anyOf` the two. Merged once per pair and
 * shared by every operation that uses the same DingTalk response.
 */
function mergeResponses(doc: OpenApiDocument, existing: JsonObject, gatewayName: string, merged: Map<string, string>): string {
  const responses = doc.components!.responses!;
  const ref = existing.$ref;
  if (typeof ref !== 'string' || !ref.startsWith(RESPONSE_REF)) {
    throw new Error('DingTalk responses that the gateway can also answer must be components.responses references');
  }
  const dingtalkName = ref.slice(RESPONSE_REF.length);
  const key = `${dingtalkName}+${gatewayName}`;
  const known = merged.get(key);
  if (known) return known;

  const dingtalk = responses[dingtalkName]!;
  const gateway = responses[gatewayName]!;
  const name = `${dingtalkName}OrGateway`;
  const dingtalkMedia = mediaOf(dingtalk, dingtalkName);
  const gatewayMedia = mediaOf(gateway, gatewayName);
  responses[name] = {
    description: `${String(dingtalk.description).trim()}\n\nFrom the gateway:\n${String(gateway.description).trim()}`,
    headers: { ...(dingtalk.headers as JsonObject), ...(gateway.headers as JsonObject) },
    content: {
      'application/json': {
        schema: { anyOf: [dingtalkMedia.schema, gatewayMedia.schema] },
        examples: mergeExamples(examplesOf(dingtalkMedia, 'dingtalk'), examplesOf(gatewayMedia, 'gateway')),
      },
    },
  };
  merged.set(key, name);
  return name;
}

function mediaOf(response: JsonObject, name: string): JsonObject {
  const media = (response.content as Record<string, JsonObject> | undefined)?.['application/json'];
  if (!media) throw new Error(`components.responses.${name} has no application/json content`);
  return media;
}

/** Both sides' examples; a gateway example whose name DingTalk already uses is prefixed, never dropped. */
function mergeExamples(dingtalk: Record<string, unknown>, gateway: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...dingtalk };
  for (const [name, example] of Object.entries(gateway)) merged[name in merged ? `gateway ${name}` : name] = example;
  return merged;
}

function examplesOf(media: JsonObject, fallbackName: string): Record<string, unknown> {
  if (media.examples) return media.examples as Record<string, unknown>;
  if (media.example !== undefined) {
    const code = (media.example as { code?: unknown }).code;
    return { [typeof code === 'string' ? code : fallbackName]: { value: media.example } };
  }
  return {};
}

/** Drops components no longer reachable from the paths or the security requirements. */
export function removeUnusedComponents(doc: OpenApiDocument): void {
  const components = doc.components;
  if (!components) return;
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith('#/components/')) {
        if (used.has(child)) continue;
        used.add(child);
        const [, , kind, name] = child.split('/');
        visit((components as Record<string, Record<string, unknown> | undefined>)[kind!]?.[name!]);
      } else {
        visit(child);
      }
    }
  };
  visit(doc.paths);
  const schemes = new Set((doc.security ?? []).flatMap((requirement) => Object.keys(requirement)));
  for (const { operation } of operationsOf(doc)) {
    for (const requirement of operation.security ?? []) for (const name of Object.keys(requirement)) schemes.add(name);
  }
  for (const [kind, entries] of Object.entries(components)) {
    if (!entries || typeof entries !== 'object') continue;
    for (const name of Object.keys(entries)) {
      const isUsed = kind === 'securitySchemes' ? schemes.has(name) : used.has(`#/components/${kind}/${name}`);
      if (!isUsed) delete (entries as Record<string, unknown>)[name];
    }
  }
}
