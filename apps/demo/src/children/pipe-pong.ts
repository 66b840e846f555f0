import type { Connection } from '@ipc/core';

export async function main(conn: Connection<{ ping: number }>): Promise<void> {
  for await (const msg of conn) await conn.send({ pong: msg.ping, by: process.pid } as never);
}
