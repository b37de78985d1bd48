import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const relayBin = resolve(import.meta.dirname, '../../bin/relay.js');

export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));
  const path = join(dir, 'relay.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Runs `relay ARGS` to completion, as a user would. */
export function runRelay(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const res = spawnSync(process.execPath, [relayBin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    timeout: 20_000,
    ...(cwd ? { cwd } : {}),
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly publicUrl: string;
  readonly opsUrl: string;
  readonly stdout: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** `relay start` as a child process; resolves once it logs "relay ready". */
export function startRelayProcess(args: string[], env: Record<string, string> = {}): Promise<RelayProcess> {
  const child = spawn(process.execPath, [relayBin, 'start', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`relay did not become ready: ${stderr}`)), 15_000);
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    child.stdout?.on('data', (d) => {
      buffer += String(d);
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        stdout.push(line);
        if (line.includes('"relay ready"')) {
          clearTimeout(timer);
          const ready = JSON.parse(line) as { public: string; ops: string };
          resolvePromise({ child, publicUrl: ready.public, opsUrl: ready.ops, stdout, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before it was ready: ${stderr}`));
    });
  });
}
