import { describe, expect, it } from 'vitest';
import { documentedErrorCodes } from './error-codes.js';
import { invalidInputLocations, invalidInputRules } from './invalid-input.js';
import { type OpenApiDocument, operationsOf } from './openapi-document.js';
import { readDingTalkSource } from './sources.js';

const dingtalk = readDingTalkSource();
const rulesOf = (operationId: string) => {
  const found = [...operationsOf(dingtalk)].find(({ operation }) => operation.operationId === operationId)!;
  return invalidInputRules(dingtalk, found.path, found.method);
};

/** A minimal document with one operation, to show what the reader refuses. */
function docWith(extension: unknown, options: { property?: unknown; codes?: string[] } = {}): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {},
    paths: {
      '/things': {
        post: {
          operationId: 'addThing',
          ...(extension === undefined ? {} : { 'x-dingtalk-invalid-input': extension }),
          requestBody: {
            content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string', ...(options.property === undefined ? {} : { 'x-dingtalk-invalid-input': options.property }) } } } } },
          },
          responses: {
            '400': { description: '', content: { 'application/json': { schema: { properties: { code: { enum: options.codes ?? ['bad', 'bad.name'] } } } } } },
          },
        },
      },
    },
  };
}

describe('invalidInputRules on dingtalk.yaml', () => {
  it('reads the operation, body and field rules the pages give', () => {
    expect(rulesOf('addSpace')).toMatchObject({
      operation: { status: 400, code: 'param.error' },
      body: { status: 400, code: 'param.error' },
      fields: new Map([['body.name', { status: 400, code: 'param.error', valueCode: 'name.invalid' }]]),
    });
    expect(rulesOf('listWorkspaces').fields.get('query.orderBy')).toEqual({ status: 400, code: 'paramError.orderBy', valueCode: 'paramError.orderBy' });
    expect([...rulesOf('addWorkspace').fields.keys()].sort()).toEqual(['body.name', 'body.option.description']);
    expect(rulesOf('createWorkspaceDoc')).toMatchObject({ operation: { code: 'invalidRequest.inputArgs.invalid' }, fields: new Map() });
    expect(rulesOf('getAccessToken')).toMatchObject({ operation: { code: 'invalidClientIdOrSecret' }, body: { code: 'Missingbody' } });
    expect([...rulesOf('getCorpAccessToken').fields].map(([field, rule]) => [field, rule.code])).toEqual([
      ['body.authCorpId', 'invalidAuthInfo'],
      ['body.suiteTicket', 'invalidSuiteTicket'],
    ]);
  });

  it('gives every operation a rule, and only codes the operation documents for that status', () => {
    for (const { path, method, operation } of operationsOf(dingtalk)) {
      const rules = invalidInputRules(dingtalk, path, method);
      const documented = documentedErrorCodes(dingtalk, operation);
      const answers = [rules.operation, rules.body, ...[...rules.fields.values()].flatMap((rule) => [rule, { status: rule.status, code: rule.valueCode }])];
      for (const { status, code } of answers) expect(documented.get(status)?.has(code), `${operation.operationId}: ${status} ${code}`).toBe(true);
    }
  });

  it('reads every extension in the document (none sits where nothing looks)', () => {
    const read = new Set([...operationsOf(dingtalk)].flatMap(({ path, method }) => invalidInputRules(dingtalk, path, method).locations));
    expect(invalidInputLocations(dingtalk).filter((location) => !read.has(location))).toEqual([]);
  });
});

describe('invalidInputRules refuses a spec that says the wrong thing', () => {
  const rules = (doc: OpenApiDocument) => invalidInputRules(doc, '/things', 'post');

  it('accepts a well-formed one', () => {
    expect(rules(docWith({ status: 400, code: 'bad' }, { property: { code: 'bad.name' } })).fields.get('body.name')).toEqual({ status: 400, code: 'bad.name', valueCode: 'bad.name' });
  });

  it.each([
    ['no rule on the operation', docWith(undefined), /has no x-dingtalk-invalid-input/],
    ['no status', docWith({ code: 'bad' }), /needs a status from 400 to 499/],
    ['a 5xx status', docWith({ status: 500, code: 'bad' }), /needs a status from 400 to 499/],
    ['a code the operation does not document', docWith({ status: 400, code: 'paramError' }), /does not document 400 paramError/],
    ['a code documented under another status', docWith({ status: 404, code: 'bad' }), /does not document 404 bad/],
    ['an undocumented field code', docWith({ status: 400, code: 'bad' }, { property: { code: 'nope' } }), /properties\/name\/x-dingtalk-invalid-input: POST \/things does not document 400 nope/],
    ['an undocumented valueCode', docWith({ status: 400, code: 'bad' }, { property: { code: 'bad', valueCode: 'nope' } }), /does not document 400 nope/],
    ['a status on a field', docWith({ status: 400, code: 'bad' }, { property: { status: 400, code: 'bad' } }), /the status is the operation's/],
    ['a misspelt key', docWith({ status: 400, code: 'bad', valuecode: 'x' }), /unknown keys valuecode/],
    ['a valueCode on the operation', docWith({ status: 400, code: 'bad', valueCode: 'bad' }), /valueCode belongs on a field/],
  ])('%s', (_label, doc, message) => {
    expect(() => rules(doc)).toThrow(message);
  });
});
