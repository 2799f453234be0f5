/**
 * Method + path → route, over a segment trie built once from the OpenAPI path templates.
 *
 * - A path matches a template only segment for segment: no trailing-slash or double-slash
 *   normalization, no prefix match (`/v2.0/wiki/workspaces/abc/x` is not `…/{workspaceId}`).
 * - A literal segment wins over a template parameter at the same position, as OpenAPI asks
 *   (`/users/me` before `/users/{id}`); the matcher backtracks if the literal leads nowhere.
 * - Segments are percent-decoded before they are compared, as DingTalk (and the sandbox)
 *   route: `/v2.0/wiki/%77orkspaces` is `/v2.0/wiki/workspaces`. A parameter matches one
 *   non-empty segment and is its decoded value (`a%2Fb` → `a/b`). Percent-encoding that is
 *   not valid (`%zz`, a broken UTF-8 sequence) is kept as sent, and the rest decoded: such a
 *   segment still names its resource, and DingTalk answers for it.
 */

export type RouteMatch<T> =
  | { readonly kind: 'operation'; readonly operation: T; readonly pathParams: Record<string, string> }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'methodNotAllowed'; readonly allowed: readonly string[] };

export interface Route<T> {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** OpenAPI path template, e.g. `/v2.0/wiki/workspaces/{workspaceId}`. */
  readonly template: string;
  readonly value: T;
}

interface Node<T> {
  readonly literals: Map<string, Node<T>>;
  param: Node<T> | undefined;
  /** Set on nodes where a template ends. */
  end: { readonly template: string; readonly paramNames: readonly string[]; readonly byMethod: Map<string, T>; allowed: readonly string[] } | undefined;
}

const NOT_FOUND = Object.freeze({ kind: 'notFound' as const });
const PARAM_SEGMENT = /^\{([^{}]+)\}$/;

export class PathMatcher<T> {
  private readonly root: Node<T> = newNode();

  constructor(routes: Iterable<Route<T>>) {
    for (const route of routes) this.add(route);
  }

  match(method: string, path: string): RouteMatch<T> {
    if (path.charCodeAt(0) !== 0x2f /* '/' */) return NOT_FOUND;
    const segments = path.includes('%') ? path.split('/').map(decode) : path.split('/');
    const values: string[] = [];
    const end = find(this.root, segments, 1, values);
    if (!end) return NOT_FOUND;
    const operation = end.byMethod.get(method) ?? end.byMethod.get(method.toUpperCase());
    if (operation === undefined) return { kind: 'methodNotAllowed', allowed: end.allowed };
    const pathParams: Record<string, string> = {};
    for (let i = 0; i < values.length; i++) pathParams[end.paramNames[i]!] = values[i]!;
    return { kind: 'operation', operation, pathParams };
  }

  private add({ method, template, value }: Route<T>): void {
    if (!template.startsWith('/')) throw new Error(`path template '${template}' must start with '/'`);
    let node = this.root;
    const paramNames: string[] = [];
    for (const segment of template.split('/').slice(1)) {
      const param = PARAM_SEGMENT.exec(segment);
      if (param) {
        paramNames.push(param[1]!);
        node = node.param ??= newNode();
      } else if (segment.includes('{') || segment.includes('}')) {
        throw new Error(`path template '${template}': a parameter must be a whole segment ('${segment}' is not supported)`);
      } else {
        let next = node.literals.get(segment);
        if (!next) node.literals.set(segment, (next = newNode()));
        node = next;
      }
    }
    const end = (node.end ??= { template, paramNames, byMethod: new Map(), allowed: [] });
    if (end.paramNames.join('/') !== paramNames.join('/')) {
      throw new Error(`path templates '${end.template}' and '${template}' are the same path with different parameter names`);
    }
    if (end.byMethod.has(method)) throw new Error(`${method} ${template} is defined twice`);
    end.byMethod.set(method, value);
    end.allowed = Object.freeze([...end.byMethod.keys()]);
  }
}

const newNode = <T>(): Node<T> => ({ literals: new Map(), param: undefined, end: undefined });

function find<T>(node: Node<T>, segments: readonly string[], index: number, values: string[]): Node<T>['end'] {
  if (index === segments.length) return node.end;
  const segment = segments[index]!;
  const literal = node.literals.get(segment);
  if (literal) {
    const end = find(literal, segments, index + 1, values);
    if (end) return end;
  }
  if (node.param && segment !== '') {
    values.push(segment);
    const end = find(node.param, segments, index + 1, values);
    if (end) return end;
    values.pop();
  }
  return undefined;
}

/** Percent-decodes a segment; runs that are not valid percent-encoded UTF-8 are kept as sent. */
function decode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}
