function parseConfig(text: string): unknown {
  if (!text.startsWith('{')) throw new SyntaxError(`config is not JSON: '${text}'`);
  return JSON.parse(text);
}

export function main(): void {
  parseConfig('oops');
}
