import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { GatewayAdditions } from './derive-gateway-contract.js';
import type { OpenApiDocument } from './openapi-document.js';

/** The hand-authored sources, as checked in (spec/*.yaml). */
export const SOURCES = {
  dingtalk: new URL('../dingtalk.yaml', import.meta.url),
  gatewayAdditions: new URL('../gateway-additions.yaml', import.meta.url),
} as const;

export function readYaml<T>(file: URL): T {
  return parse(readFileSync(file, 'utf8'), { prettyErrors: true }) as T;
}

export const readDingTalkSource = (): OpenApiDocument => readYaml<OpenApiDocument>(SOURCES.dingtalk);
export const readGatewayAdditions = (): GatewayAdditions => readYaml<GatewayAdditions>(SOURCES.gatewayAdditions);
