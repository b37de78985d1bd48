import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { relayBin } from './support/process.js';

/**
 * Runs `relay doctor|check|auth …` as a process (needs `npm run build`) without blocking this
 * process, whose relays and fakes must keep answering. Until src/cli/main.ts registers a command,
 * the same `register…Command` runs under a bare commander program: the command is still a real
 * process with real argv, exit code and output.
 */
const dist = resolve(import.meta.dirname, '../dist/src/cli');
const modules = {
  doctor: ['doctor.js', 'registerDoctorCommand'],
  check: ['check.js', 'registerCheckCommand'],
  auth: ['auth.js', 'registerAuthCommands'],
} as const;

function entry(command: keyof typeof modules): string[] {
  const [file, register] = modules[command];
  const main = readFileSync(resolve(dist, 'main.js'), 'utf8');
  if (main.includes(register)) return [relayBin];
  const url = new URL(`file://${resolve(dist, file)}`).href;
  const script = `import { Command } from 'commander'; import { ${register} } from '${url}'; const p = new Command('relay'); ${register}(p); await p.parseAsync(process.argv.slice(1), { from: 'user' });`;
  return ['--input-type=module', '-e', script, '--'];
}

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  /** Resolves once stdout has printed `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<string>;
  readonly done: Promise<CliRun>;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const command = args[0] as keyof typeof modules;
  const child = spawn(process.execPath, [...entry(command), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  child.stdout.on('data', (d) => {
    stdout += String(d);
    for (const w of watchers.splice(0)) w();
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const done = new Promise<CliRun>((r) => child.on('exit', (status) => r({ status, stdout, stderr })));
  return {
    done,
    waitForOutput(text, timeoutMs = 15_000) {
      const found = () => (typeof text === 'string' ? stdout.includes(text) : text.test(stdout));
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${String(text)} in output: ${stdout}${stderr}`)),
          timeoutMs,
        );
        const check = () => {
          if (found()) {
            clearTimeout(timer);
            resolvePromise(stdout);
          } else watchers.push(check);
        };
        void done.then(() => {
          if (!found()) {
            clearTimeout(timer);
            reject(new Error(`exited without ${String(text)}: ${stdout}${stderr}`));
          }
        });
        check();
      });
    },
  };
}

export const runCli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  startCli(args, env).done;
