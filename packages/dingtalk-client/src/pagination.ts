/**
 * Every Knowledge Base of a `ListWorkspaces` query, page after page, following `nextToken`.
 *
 * ```ts
 * for await (const workspace of listAllWorkspaces(dingtalk, { operatorId, orderBy: 'CREATE_TIME_DESC' })) { ... }
 * ```
 */
import type { DingTalkPaths, GatewayPaths, Workspace } from '@dingtalk-gateway/types';
import type { DingTalkClient, PathsOf } from './client.js';

export type ListAllWorkspacesQuery = Omit<DingTalkPaths['/v2.0/wiki/workspaces']['get']['parameters']['query'], 'nextToken'>;

export async function* listAllWorkspaces(
  client: DingTalkClient<PathsOf<GatewayPaths>> | DingTalkClient<PathsOf<DingTalkPaths>>,
  query: ListAllWorkspacesQuery,
): AsyncGenerator<Workspace, void, undefined> {
  // The operation is the same in both contracts; TypeScript cannot call a union of generic methods.
  const get = (client as DingTalkClient<PathsOf<GatewayPaths>>).GET;
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await get('/v2.0/wiki/workspaces', { params: { query: nextToken ? { ...query, nextToken } : query } });
    yield* page.workspaces;
    nextToken = page.nextToken || undefined;
    if (nextToken !== undefined) {
      // A server answering the same cursor twice would otherwise loop for ever.
      if (seen.has(nextToken)) throw new Error(`ListWorkspaces returned nextToken ${nextToken} twice`);
      seen.add(nextToken);
    }
  } while (nextToken);
}
