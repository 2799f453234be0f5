/** SHA-256 as lowercase hex with Web Crypto, for the gateway core on any runtime. */
export async function sha256HexWeb(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
