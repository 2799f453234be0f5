/**
 * Calling DingTalk through the gateway with a team's API key.
 *
 *   GATEWAY_URL=http://127.0.0.1:8787 DTG_API_KEY=dtg_... OPERATOR_ID=... node through-the-gateway.js
 */
import { DingTalkError, createGatewayClient, listAllWorkspaces } from '@dingtalk-gateway/client';

// Every POST gets an Idempotency-Key, and a call the gateway or the network failed is sent again
// when that is safe: a create is made once however often it is retried.
const dingtalk = createGatewayClient({ baseUrl: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8787', apiKey: process.env.DTG_API_KEY ?? '', retry: { maxAttempts: 4, maxWaitMs: 15_000 } });
const operatorId = process.env.OPERATOR_ID ?? '';

export async function main(): Promise<void> {
  const { workspace } = await dingtalk.POST('/v2.0/wiki/workspaces', {
    params: { query: { operatorId } },
    body: { name: 'Team handbook', option: { description: 'How we work' } },
  });
  console.log(`created ${workspace.name} (${workspace.workspaceId})`);

  const folder = await dingtalk.POST('/v1.0/doc/workspaces/{workspaceId}/docs', {
    params: { path: { workspaceId: workspace.workspaceId } },
    body: { name: 'Onboarding', docType: 'FOLDER', operatorId },
  });
  await dingtalk.POST('/v1.0/doc/workspaces/{workspaceId}/docs', {
    params: { path: { workspaceId: workspace.workspaceId } },
    body: { name: 'First week', docType: 'DOC', operatorId, parentNodeId: folder.nodeId },
  });

  // A read the gateway may cache: an answer at most 30 s old will do.
  const again = await dingtalk.GET('/v2.0/wiki/workspaces/{workspaceId}', {
    params: { path: { workspaceId: workspace.workspaceId }, query: { operatorId }, header: { 'Cache-Control': 'max-age=30' } },
  });
  console.log(`read back ${again.workspace.name}`);

  for await (const ws of listAllWorkspaces(dingtalk, { operatorId, orderBy: 'CREATE_TIME_DESC', withPermissionRole: true })) {
    console.log(`${ws.name}\t${ws.permissionRole ?? ''}`);
  }

  try {
    await dingtalk.GET('/v2.0/wiki/workspaces/{workspaceId}', { params: { path: { workspaceId: 'no-such-id' }, query: { operatorId } } });
  } catch (error) {
    if (error instanceof DingTalkError && error.code === 'workspaceNotExist') console.log(`not found (request ${error.requestId})`);
    else throw error;
  }
}
