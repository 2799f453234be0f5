/**
 * Calling DingTalk directly with an internal app's credentials: the client caches and
 * refreshes the access token itself.
 *
 *   DINGTALK_APP_KEY=... DINGTALK_APP_SECRET=... node direct-to-dingtalk.js
 */
import { createDirectClient } from '@dingtalk-gateway/client';

const dingtalk = createDirectClient({
  appKey: process.env.DINGTALK_APP_KEY ?? '',
  appSecret: process.env.DINGTALK_APP_SECRET ?? '',
});

export async function main(): Promise<void> {
  const space = await dingtalk.POST('/v1.0/drive/spaces', { body: { name: 'Design reviews', unionId: process.env.UNION_ID ?? '' } });
  console.log(`space ${space.spaceName}: ${space.usedQuota ?? 0}/${space.quota ?? 0} bytes`);
}
