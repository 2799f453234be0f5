/**
 * DingTalk's answer (status and code) to one bad input of an operation, from the spec's
 * `x-dingtalk-invalid-input` rules: the field's own rule, else the nearest enclosing field's,
 * else the operation's. The body as a whole has a rule of its own.
 *
 * What went wrong decides between a rule's two codes: a field that is missing, repeated or of
 * the wrong type gets `code`; one that is there, of its type, but whose value is refused (an
 * enum, a length or a bound of its schema, or a rule of DingTalk's that no schema states) gets
 * `valueCode`.
 */
import type { InvalidInputAnswer, InvalidInputRules } from '@dingtalk-gateway/spec';

export type InputProblem = 'presence' | 'value';

/** The schema keywords that say a field is missing or not of its type; every other one refuses a value. */
const PRESENCE_KEYWORDS = new Set(['required', 'dependentRequired', 'type']);

export const problemOf = (keyword: string): InputProblem => (PRESENCE_KEYWORDS.has(keyword) ? 'presence' : 'value');

export class InvalidInputAnswers {
  constructor(private readonly rules: InvalidInputRules) {}

  /** `field` as the validator names it: `query.orderBy`, `body`, `body.option.teamId`, `body.items[2]`. */
  answer(field: string, problem: InputProblem): InvalidInputAnswer {
    if (field === 'body') return this.rules.body;
    const own = field.replace(/\[\d+\]/g, '[]');
    for (let at = own; at !== 'body' && at !== ''; at = parentOf(at)) {
      const rule = this.rules.fields.get(at);
      // A rule's valueCode is about its own field's value; the fields inside it get its code.
      if (rule) return problem === 'value' && at === own ? { status: rule.status, code: rule.valueCode } : rule;
    }
    return this.rules.operation;
  }
}

/** `body.option.teamId` → `body.option`; `body.items[]` → `body.items`; `query.x` → `` (no parent field). */
function parentOf(field: string): string {
  if (field.endsWith('[]')) return field.slice(0, -2);
  const dot = field.lastIndexOf('.');
  return field.startsWith('body.') ? field.slice(0, dot) : '';
}
