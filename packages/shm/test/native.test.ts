import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipc-shm-native-'));
  dirs.push(d);
  return d;
}

describe('native addon', () => {
  it('the install script names python3, make and g++ when the build tools are missing, and does not fail the install', () => {
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = spawnSync(join(bin, 'node'), [join(PKG, 'native', 'install.cjs')], {
      encoding: 'utf8',
      env: { PATH: bin, IPC_SHM_FORCE_BUILD: '1' },
      cwd: tempDir(),
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('python3, make, g++ not found');
    expect(r.stderr).toContain('apt-get install python3 make g++');
  });

  it('a package whose addon was not built throws one ERR_IPC_NATIVE naming what to install', () => {
    const root = tempDir();
    const pkg = join(root, 'node_modules', '@ipc', 'shm');
    cpSync(join(PKG, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(PKG, 'package.json'), join(pkg, 'package.json'));
    cpSync(join(PKG, 'binding.gyp'), join(pkg, 'binding.gyp'));
    const core = dirname(fileURLToPath(import.meta.resolve('@ipc/core/package.json')));
    symlinkSync(core, join(root, 'node_modules', '@ipc', 'core'));
    writeFileSync(
      join(root, 'main.mjs'),
      "import { SharedMemory } from '@ipc/shm';\ntry { SharedMemory.create({ size: 8 }); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }\n",
    );
    const r = spawnSync(process.execPath, [join(root, 'main.mjs')], { encoding: 'utf8', cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.code).toBe('ERR_IPC_NATIVE');
    expect(out.message).toMatch(/python3, make and g\+\+/);
  });
});
