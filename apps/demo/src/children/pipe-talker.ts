import type { Connection } from '@ipc/core';

export async function main(conn: Connection<string>, me: string, first: boolean): Promise<void> {
  if (first) await conn.send(`hello from ${me} (pid ${process.pid})`);
  const got = await conn.recv({ timeout: 10_000 });
  console.log(`${me} (pid ${process.pid}) got: ${got}`);
  if (!first) await conn.send(`hello back from ${me} (pid ${process.pid})`);
  await conn.close();
}
