import { connect } from '@ipc/socket';

export async function main(path: string, key: string, n: number): Promise<void> {
  const client = await connect(path, { authkey: key });
  const { sum } = await client.request<{ sum: number }>({ add: [n, n * 10, n * 100], from: `node client ${n} (pid ${process.pid})` }, { timeout: 10_000 });
  console.log(`node client ${n}: the sum is ${sum}`);
  await client.close();
}
