/** The key that marks a request/response envelope (`{ "@ipc.rpc": id, p | r | e }`). */
export const RPC_TAG = '@ipc.rpc';

/** A request (`p`), a result (`r`) or an error (`e`), matched by the correlation id. */
export interface RpcMessage {
  [RPC_TAG]: number;
  p?: unknown;
  r?: unknown;
  e?: { code?: string; message?: string };
}

/** True for a request/response envelope. */
export function isRpcMessage(value: unknown): value is RpcMessage {
  return typeof value === 'object' && value !== null && typeof (value as RpcMessage)[RPC_TAG] === 'number';
}
